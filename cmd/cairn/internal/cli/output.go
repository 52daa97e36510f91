package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/cairnbackup/cairn/pkg/progress"
)

// Output writes a command's result either as text for people or as one JSON
// document per result for scripts (--json). Messages and warnings go to
// stderr so stdout stays parseable.
type Output struct {
	JSON   bool
	Quiet  bool
	Stdout io.Writer
	Stderr io.Writer
}

// Result prints v as JSON in JSON mode, or calls text otherwise.
func (o *Output) Result(v any, text func(w io.Writer)) error {
	if o.JSON {
		enc := json.NewEncoder(o.Stdout)
		return enc.Encode(v)
	}
	text(o.Stdout)
	return nil
}

// Infof prints a progress message for people (not in JSON or quiet mode).
func (o *Output) Infof(format string, args ...any) {
	if o.JSON || o.Quiet {
		return
	}
	fmt.Fprintf(o.Stderr, format+"\n", args...)
}

// Warnf prints a warning to stderr in every mode.
func (o *Output) Warnf(format string, args ...any) {
	fmt.Fprintf(o.Stderr, "warning: "+format+"\n", args...)
}

// Table returns a tabwriter for aligned text output; call Flush.
func Table(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

// IsTerminal reports whether f is a terminal, which decides whether the
// progress bar is drawn and whether a password may be asked for. It asks
// the terminal driver: /dev/null is a character device but no terminal.
func IsTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// Bytes formats n with binary units: "1.5 GiB".
func Bytes(n int64) string { return progress.FormatBytes(n) }

// Duration formats d as h:mm:ss or m:ss.
func Duration(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

// Truncate shortens s to n runes with an ellipsis.
func Truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
