package driver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzUnescapeOctal feeds arbitrary mountinfo fields: never a panic, and
// text without backslashes comes back unchanged.
func FuzzUnescapeOctal(f *testing.F) {
	for _, s := range []string{`/a\040b`, `\`, `\04`, `\777x`, `/plain`, `\134\011`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := unescapeOctal(s)
		if !strings.Contains(s, `\`) && out != s {
			t.Fatalf("unescapeOctal(%q) = %q, want it unchanged", s, out)
		}
		if len(out) > len(s) {
			t.Fatalf("unescapeOctal(%q) grew to %q", s, out)
		}
	})
}

// FuzzOpenStoreRecord puts arbitrary bytes in a state record: openStore
// either loads it or returns an error, never panics.
func FuzzOpenStoreRecord(f *testing.F) {
	f.Add([]byte(`{"id":"vol-1","name":"pvc-1","capacity":1024}`), true)
	f.Add([]byte(`{"id":"snap-1","sourceVolume":"vol-1","createdNanos":1}`), false)
	f.Add([]byte(`{"id":`), true)
	f.Fuzz(func(t *testing.T, data []byte, isVolume bool) {
		root := t.TempDir()
		if err := os.MkdirAll(filepath.Join(root, "meta"), 0o755); err != nil {
			t.Fatal(err)
		}
		name := "x.snap"
		if isVolume {
			name = "x.vol"
		}
		if err := os.WriteFile(filepath.Join(root, "meta", name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _ = openStore(root)
	})
}
