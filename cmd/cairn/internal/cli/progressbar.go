package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/cairnbackup/cairn/pkg/progress"
)

// ProgressBar draws one self-overwriting status line on a terminal.
type ProgressBar struct {
	W     io.Writer
	Verb  string // "backup", "restore"
	width int
}

// Update draws s; it is a progress.Func.
func (p *ProgressBar) Update(s progress.Status) {
	var b strings.Builder
	b.WriteString("\r")
	const barLen = 24
	if pct, ok := s.Percent(); ok {
		filled := int(pct / 100 * barLen)
		fmt.Fprintf(&b, "[%s%s] %5.1f%% ", strings.Repeat("=", filled), strings.Repeat(" ", barLen-filled), pct)
	} else {
		fmt.Fprintf(&b, "[%s] ", p.Verb)
	}
	fmt.Fprintf(&b, "%s / %s  %d / %d files  %s/s", Bytes(s.BytesDone), Bytes(s.BytesTotal),
		s.FilesDone, s.FilesTotal, Bytes(int64(s.BytesPerSecond)))
	if s.ETA > 0 {
		fmt.Fprintf(&b, "  ETA %s", Duration(s.ETA))
	}
	if s.Errors > 0 {
		fmt.Fprintf(&b, "  %d warnings", s.Errors)
	}
	line := b.String()
	// Pad over the remains of a longer previous line.
	if n := len(line); n < p.width {
		line += strings.Repeat(" ", p.width-n)
	} else {
		p.width = n
	}
	if s.Done {
		line += "\n"
	}
	io.WriteString(p.W, line)
}
