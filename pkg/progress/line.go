package progress

import (
	"encoding/json"
	"io"
	"math"
)

// Line types of the `--json` output of `cairn repo backup` and `restore`:
// zero or more status lines, then one summary line (docs/cli.md). The
// in-cluster runner prints them and the operator parses them from the Job's
// log, so both sides share these names.
const (
	LineStatus  = "status"
	LineSummary = "summary"
)

// StatusLine is the JSON form of a Status, one object per line. Durations
// are in seconds (not Go's nanoseconds) so any script can read them.
type StatusLine struct {
	// Type is always LineStatus.
	Type string `json:"type"`
	// Action is "backup" or "restore".
	Action     string `json:"action"`
	FilesDone  int64  `json:"filesDone"`
	FilesTotal int64  `json:"filesTotal"`
	BytesDone  int64  `json:"bytesDone"`
	BytesTotal int64  `json:"bytesTotal"`
	// TotalsKnown is false while the totals are still being counted (or
	// cannot be, as for a restore of some paths); they only grow then.
	TotalsKnown bool `json:"totalsKnown"`
	// Percent of the bytes done; present only once the totals are known.
	Percent *float64 `json:"percent,omitempty"`
	// BytesPerSecond is the mean rate since the start.
	BytesPerSecond float64 `json:"bytesPerSecond"`
	// ETASeconds is the estimated time left; present only when known.
	ETASeconds     *float64 `json:"etaSeconds,omitempty"`
	ElapsedSeconds float64  `json:"elapsedSeconds"`
	// Warnings counts non-fatal problems so far (Status.Errors).
	Warnings int64 `json:"warnings"`
	// Done is set on the last status line, printed when the work ends.
	Done bool `json:"done"`
}

// Percent returns the share of bytes done, 0 to 100, and whether it is
// known (the totals are final and not zero).
func (s Status) Percent() (float64, bool) {
	if !s.TotalsKnown || s.BytesTotal <= 0 {
		return 0, false
	}
	return math.Min(100, float64(s.BytesDone)/float64(s.BytesTotal)*100), true
}

// NewStatusLine converts s for the JSON output of action.
func NewStatusLine(action string, s Status) StatusLine {
	l := StatusLine{Type: LineStatus, Action: action, FilesDone: s.FilesDone, FilesTotal: s.FilesTotal,
		BytesDone: s.BytesDone, BytesTotal: s.BytesTotal, TotalsKnown: s.TotalsKnown,
		BytesPerSecond: math.Round(s.BytesPerSecond), ElapsedSeconds: round3(s.Elapsed.Seconds()),
		Warnings: s.Errors, Done: s.Done}
	if p, ok := s.Percent(); ok {
		p = round3(p)
		l.Percent = &p
	}
	if s.ETA > 0 {
		eta := round3(s.ETA.Seconds())
		l.ETASeconds = &eta
	}
	return l
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// JSONLines returns a Func that writes each report to w as one StatusLine.
// Write errors are ignored: a reader that went away must not stop a backup.
func JSONLines(w io.Writer, action string) Func {
	enc := json.NewEncoder(w)
	return func(s Status) { _ = enc.Encode(NewStatusLine(action, s)) }
}
