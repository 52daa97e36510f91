package printer

import (
	"fmt"
	"io"
	"strings"

	"github.com/cairnbackup/cairn/pkg/progress"
)

// barWidth is the number of cells of the bar.
const barWidth = 30

// Bar draws a progress bar on one line that it overwrites, for the
// commands that follow work in progress (a restore in the cluster, a
// download). On a writer that is not a terminal it writes a line only
// when the whole percent changes, so a log stays short.
type Bar struct {
	// W receives the bar.
	W io.Writer
	// Terminal makes the bar overwrite itself with a carriage return.
	Terminal bool
	last     string // the key of the last line written
	width    int
}

// Update draws the bar for bytes and files done of their totals (a total
// of 0 is unknown); label says what is in progress, and is all that is
// shown before any progress is reported.
func (b *Bar) Update(label string, bytesDone, bytesTotal, filesDone, filesTotal int64) {
	var s strings.Builder
	key := ""
	if bytesTotal > 0 {
		pct := float64(bytesDone) / float64(bytesTotal)
		pct = min(max(pct, 0), 1)
		filled := int(pct * barWidth)
		fmt.Fprintf(&s, "%s [%s%s] %3d%%  %s of %s", label, strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled),
			int(pct*100), progress.FormatBytes(bytesDone), progress.FormatBytes(bytesTotal))
		key = fmt.Sprintf("%s %d%%", label, int(pct*100))
	} else if bytesDone > 0 {
		fmt.Fprintf(&s, "%s  %s", label, progress.FormatBytes(bytesDone))
	} else {
		s.WriteString(label) // nothing reported yet
	}
	if filesTotal > 0 {
		fmt.Fprintf(&s, "  %d/%d files", filesDone, filesTotal)
	}
	line := s.String()
	if b.Terminal || key == "" {
		key = line
	}
	if key == b.last {
		return
	}
	b.last = key
	if !b.Terminal {
		fmt.Fprintln(b.W, line)
		return
	}
	pad := ""
	if n := len(line); n < b.width {
		pad = strings.Repeat(" ", b.width-n)
	} else {
		b.width = n
	}
	fmt.Fprintf(b.W, "\r%s%s", line, pad)
}

// Done ends the bar's line on a terminal.
func (b *Bar) Done() {
	if b.Terminal && b.last != "" {
		fmt.Fprintln(b.W)
	}
	b.last = ""
	b.width = 0
}
