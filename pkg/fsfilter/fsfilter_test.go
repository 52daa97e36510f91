package fsfilter

import (
	"slices"
	"testing"
)

func TestExclude(t *testing.T) {
	f, err := New(nil, []string{"*.o", "node_modules", "/var/log/**/*.gz", "/tmp/cache"})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]bool{
		"/src/main.o":                 true,
		"/src/main.c":                 false,
		"/app/node_modules":           true,
		"/app/node_modules_old":       false,
		"/var/log/a.gz":               true,
		"/var/log/x/y/a.gz":           true,
		"/var/log/x/y/a.txt":          false,
		"/tmp/cache":                  true,
		"/tmp/cache2":                 false,
		"/other/var/log/deep/file.gz": false,
	}
	for p, want := range cases {
		if got := f.Excluded(p); got != want {
			t.Errorf("Excluded(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestInclude(t *testing.T) {
	f, err := New([]string{"*.go", "/data/keep"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]bool{
		"/src/a.go":          true,
		"/src/a.c":           false,
		"/data/keep/x/y.bin": true,
		"/data/other/y.bin":  false,
	}
	for p, want := range cases {
		if got := f.Included(p); got != want {
			t.Errorf("Included(%q) = %v, want %v", p, got, want)
		}
	}
	var none *Filter
	if !none.Included("/x") || none.Excluded("/x") {
		t.Fatal("nil filter must keep everything")
	}
}

func TestBadPatterns(t *testing.T) {
	for _, p := range []string{"", "  ", "[a-", "/x/[z", "/", "//.", "/.."} {
		if _, err := New(nil, []string{p}); err == nil {
			t.Errorf("pattern %q accepted", p)
		}
	}
}

func TestSelectForRestore(t *testing.T) {
	f, err := New([]string{"/data/keep", "*.go", "/srv/*/conf/**"}, []string{"*.tmp", "/data/keep/cache"})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.IncludePatterns(); len(got) != 3 || got[2] != "/srv/*/conf/**" {
		t.Fatalf("IncludePatterns = %q", got)
	}
	if got := f.ExcludePatterns(); len(got) != 2 || got[0] != "*.tmp" {
		t.Fatalf("ExcludePatterns = %q", got)
	}
	in := map[string][]int{
		"/data/keep":        {0},
		"/data/keep/a.go":   {1}, // under /data/keep, but pattern 0 matches only the directory itself
		"/srv/x/conf":       {2},
		"/srv/x/conf/a/b":   {2},
		"/srv/x/other/a.go": {1},
		"/data":             nil,
	}
	for p, want := range in {
		if got := f.IncludesMatching(p, nil); !slices.Equal(got, want) {
			t.Errorf("IncludesMatching(%q) = %v, want %v", p, got, want)
		}
	}
	if got := f.ExcludesMatching("/data/keep/cache", nil); !slices.Equal(got, []int{1}) {
		t.Errorf("ExcludesMatching = %v", got)
	}
	if got := f.ExcludesMatching("/data/keep/x.tmp", []int{7}); !slices.Equal(got, []int{7, 0}) {
		t.Errorf("ExcludesMatching must append: %v", got)
	}

	anchored, _ := New([]string{"/data/keep", "/srv/*/conf/**"}, nil)
	below := map[string]bool{
		"/":               true,
		"/data":           true,
		"/data/keep":      false, // the pattern names the directory itself, nothing below
		"/data/other":     false,
		"/srv":            true,
		"/srv/x":          true,
		"/srv/x/conf":     true,
		"/srv/x/conf/a/b": true,
		"/srv/x/logs":     false,
		"/home":           false,
	}
	for p, want := range below {
		if got := anchored.MayIncludeBelow(p); got != want {
			t.Errorf("MayIncludeBelow(%q) = %v, want %v", p, got, want)
		}
	}
	if !f.MayIncludeBelow("/home") {
		t.Error("a pattern without a slash can match below any directory")
	}
	var none *Filter
	if !none.MayIncludeBelow("/x") || none.IncludesMatching("/x", nil) != nil || none.IncludePatterns() != nil {
		t.Error("a nil filter selects everything and has no patterns")
	}
}
