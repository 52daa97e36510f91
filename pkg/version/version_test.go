package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestGetPrefersLinkerValues(t *testing.T) {
	oldV, oldC := Version, Commit
	t.Cleanup(func() { Version, Commit = oldV, oldC })
	Version, Commit = "v1.2.3", "0123abcd"
	got := Get()
	if got.Version != "v1.2.3" || got.Commit != "0123abcd" {
		t.Fatalf("Get() = %+v, want the -ldflags values", got)
	}
	if s := got.String(); !strings.HasPrefix(s, "v1.2.3 (commit 0123abcd, go") {
		t.Fatalf("String() = %q", s)
	}
}

func TestGetNeverEmpty(t *testing.T) {
	oldV, oldC := Version, Commit
	t.Cleanup(func() { Version, Commit = oldV, oldC })
	Version, Commit = "", ""
	got := Get()
	if got.Version == "" || got.Commit == "" || got.GoVersion == "" || got.Platform == "" {
		t.Fatalf("Get() left a field empty: %+v", got)
	}
}

func TestVCSRevisionMarksDirtyTrees(t *testing.T) {
	s := []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "true"}}
	if got := vcsRevision(s); got != "abc-dirty" {
		t.Fatalf("vcsRevision = %q, want abc-dirty", got)
	}
	if got := vcsRevision(s[:1]); got != "abc" {
		t.Fatalf("vcsRevision = %q, want abc", got)
	}
}
