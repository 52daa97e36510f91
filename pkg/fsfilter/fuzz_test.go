package fsfilter

import (
	"strings"
	"testing"
)

// FuzzFilter feeds arbitrary patterns and paths: compiling either fails
// with an error or yields a filter that answers without panicking.
func FuzzFilter(f *testing.F) {
	f.Add("*.o", "/src/a.o")
	f.Add("/var/**/x", "/var/a/b/x")
	f.Add("[a-", "/x")
	f.Add("**", "")
	f.Add("/srv/*/conf/**", "/srv/a/conf/b/c")
	f.Add("/a/b", "/a/b")
	f.Fuzz(func(t *testing.T, pat, path string) {
		flt, err := New([]string{pat}, []string{pat})
		if err != nil {
			return
		}
		ex := flt.Excluded(path)
		in := flt.Included(path)
		if ex && !in {
			// A pattern that matches a path as an exclude matches it (or
			// one of its elements) as an include too.
			t.Fatalf("pattern %q excludes %q but does not include it", pat, path)
		}
		if len(flt.IncludesMatching(path, nil)) == 0 {
			return
		}
		// A restore prunes with MayIncludeBelow: it must never cut off
		// the way to a path the pattern matches.
		elems := splitPath(path)
		for i := range elems {
			dir := "/" + strings.Join(elems[:i], "/")
			if !flt.MayIncludeBelow(dir) {
				t.Fatalf("pattern %q matches %q but MayIncludeBelow(%q) is false", pat, path, dir)
			}
		}
	})
}
