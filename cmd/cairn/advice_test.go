package main

import (
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
)

// TestAdviceComesFromTheCLI: the library's errors are typed and carry no
// advice; the CLI maps them to exit codes and says what to do.
func TestAdviceComesFromTheCLI(t *testing.T) {
	setupRepo(t)
	for _, c := range []struct {
		args   []string
		code   int
		advice string
	}{
		{[]string{"repo", "snapshots", "--repo", "file://" + t.TempDir()}, cli.ExitNoRepository, "`cairn repo init`"},
		{[]string{"repo", "ls", "ffffffff"}, cli.ExitFailure, "`cairn repo snapshots`"},
		{[]string{"repo", "key", "remove", "ffffffff"}, cli.ExitUsage, "`cairn repo key list`"},
		{[]string{"repo", "prune", "--grace", "10m"}, cli.ExitUsage, "longer --grace"},
	} {
		code, _, stderr := cairn(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.advice) {
			t.Errorf("cairn %s: exit %d, stderr %q; want exit %d and advice %q", strings.Join(c.args, " "), code, stderr, c.code, c.advice)
		}
	}
}
