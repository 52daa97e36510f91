package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/peakrss"
)

// TestPeakRSSFile: with CAIRN_PEAK_RSS_FILE the real main writes the whole
// command's peak and the peak since the repository was open, which the
// benchmark reports side by side (issue 14 item 4).
func TestPeakRSSFile(t *testing.T) {
	if _, err := peakrss.Peak(); err != nil {
		t.Skipf("no VmHWM here: %v", err)
	}
	setupRepo(t)
	out := filepath.Join(t.TempDir(), "peak")
	cmd := exec.Command(os.Args[0], "repo", "snapshots", "-q")
	cmd.Env = append(os.Environ(), envRunMain+"=1", "CAIRN_PEAK_RSS_FILE="+out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, msg)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var whole, afterOpen int64
	if _, err := fmt.Sscan(string(data), &whole, &afterOpen); err != nil || afterOpen <= 0 || whole < afterOpen {
		t.Fatalf("peaks %q (%v): want the whole command's and, no larger, the one after open", data, err)
	}
}
