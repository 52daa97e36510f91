package addons

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadPidFile feeds arbitrary pid files: readPidFile never panics and
// only accepts a positive pid with a binary path.
func FuzzReadPidFile(f *testing.F) {
	for _, s := range []string{"123\n/usr/bin/sleep\n", "0\n/x\n", "-5\n/x", "abc\n/x\n", "", "42"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "x.pid")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		pid, bin, err := readPidFile(p)
		if err == nil && (pid <= 0 || bin == "") {
			t.Fatalf("accepted pid %d, binary %q from %q", pid, bin, data)
		}
	})
}
