package fsfilter

import "testing"

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
	for _, p := range []string{"", "  ", "[a-", "/x/[z"} {
		if _, err := New(nil, []string{p}); err == nil {
			t.Errorf("pattern %q accepted", p)
		}
	}
}
