package restorer

import (
	"path/filepath"
	"testing"
)

// FuzzCheckName feeds entry names as a damaged or hostile snapshot could
// hold them: every name checkName accepts must stay a direct child of the
// directory it is restored into.
func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"a", "..", ".", "", "a/b", "/etc", "../x", "x/..", "\x00", "..."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if checkName(name) != nil {
			return
		}
		dir := "/target/dir"
		p := filepath.Join(dir, name)
		if filepath.Dir(p) != dir || filepath.Base(p) != name {
			t.Fatalf("accepted name %q escapes to %q", name, p)
		}
	})
}
