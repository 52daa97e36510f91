package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
	"github.com/cairnbackup/cairn/pkg/fsfixture"
)

func TestRestoreIncludeExcludePatterns(t *testing.T) {
	setupRepo(t)
	src := filepath.Join(t.TempDir(), "data")
	if err := fsfixture.Build(src, 1<<20); err != nil {
		t.Fatal(err)
	}
	mustCairn(t, "repo", "backup", "-q", src)

	target := t.TempDir()
	code, _, errs := cairn(t, "repo", "restore", "-q", "--target", target, "--include", "*.bin", "--include", src+"/links",
		"--exclude", "dup.bin", "--exclude", "*.nothing", "latest")
	if code != 0 || !strings.Contains(errs, `--exclude "*.nothing" matched nothing`) {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	var got []string
	filepath.Walk(filepath.Join(target, src), func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			rel, _ := filepath.Rel(filepath.Join(target, src), p)
			got = append(got, rel)
		}
		return nil
	})
	want := []string{".", "dir", "dir/a", "dir/a/deep.bin", "dir/b", "dir/b/big.bin",
		"links", "links/dangling", "links/fifo", "links/hardlink", "links/original", "links/symlink"}
	if !slices.Equal(got, want) {
		t.Fatalf("restored %q\nwant %q", got, want)
	}
	if err := fsfixture.Compare(filepath.Join(src, "links"), filepath.Join(target, src, "links")); err != nil {
		t.Fatal(err)
	}

	// A typo is an error, not an empty restore.
	code, _, errs = cairn(t, "repo", "restore", "--target", t.TempDir(), "--include", "/data/*.txt", "latest")
	if code != cli.ExitFailure || !strings.Contains(errs, `"/data/*.txt" matched nothing`) {
		t.Fatalf("unmatched include: exit %d, stderr %q", code, errs)
	}
	code, _, errs = cairn(t, "repo", "restore", "--target", t.TempDir(), "--exclude", "a[", "latest")
	if code != cli.ExitUsage || !strings.Contains(errs, "not a valid glob") {
		t.Fatalf("bad pattern: exit %d, stderr %q", code, errs)
	}
}
