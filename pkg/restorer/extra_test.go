package restorer_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairnbackup/cairn/pkg/archiver"
	"github.com/cairnbackup/cairn/pkg/restorer"
)

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func present(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, os.ErrNotExist)
}

// A restore into a directory that kept living after the backup (a running
// application's volume): by default the snapshot's files are put back and
// everything else stays; with DeleteExtra the backed-up paths hold exactly
// the snapshot, except what an exclude pattern leaves alone, and nothing
// outside them is touched.
func TestDeleteExtraMakesTheBackedUpPathsMatchTheSnapshot(t *testing.T) {
	r := newRepo(t)
	src := filepath.Join(t.TempDir(), "src")
	write(t, filepath.Join(src, "a"), "a")
	write(t, filepath.Join(src, "dir", "sub", "c"), "c")
	sn, _, err := archiver.Backup(context.Background(), r, archiver.Options{Paths: []string{src}}, archiver.SnapshotOptions{})
	if err != nil {
		t.Fatal(err)
	}
	target := t.TempDir()
	in := func(p ...string) string { return filepath.Join(append([]string{target, src}, p...)...) }
	if _, err := restorer.Run(context.Background(), r, sn.Tree, restorer.Options{Target: target}); err != nil {
		t.Fatal(err)
	}
	// The application goes on: it changes a file and adds others.
	write(t, in("a"), "changed")
	write(t, in("new.txt"), "new")
	write(t, in("dir", "extra", "deep"), "deep")
	write(t, in("cache", "x"), "cached")
	write(t, filepath.Join(target, "outside"), "not backed up")

	st, err := restorer.Run(context.Background(), r, sn.Tree, restorer.Options{Target: target})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(in("a")); string(b) != "a" || !present(in("new.txt")) || !present(in("dir", "extra", "deep")) || st.Deleted != 0 {
		t.Fatalf("a default restore must overwrite the snapshot's files and keep the others (a=%q, deleted %d)", b, st.Deleted)
	}

	// Only below an included directory when the restore is narrowed.
	st, err = restorer.Run(context.Background(), r, sn.Tree, restorer.Options{Target: target, DeleteExtra: []string{src},
		Include: []string{filepath.Join(src, "dir")}})
	if err != nil {
		t.Fatal(err)
	}
	if present(in("dir", "extra")) || !present(in("new.txt")) || st.Deleted != 1 {
		t.Fatalf("with includes only the included directory is cleaned: extra %v, new.txt %v, deleted %d", present(in("dir", "extra")), present(in("new.txt")), st.Deleted)
	}

	write(t, in("dir", "extra", "deep"), "deep")
	st, err = restorer.Run(context.Background(), r, sn.Tree, restorer.Options{Target: target, DeleteExtra: []string{src},
		Exclude: []string{filepath.Join(src, "cache")}})
	if err != nil {
		t.Fatal(err)
	}
	if present(in("new.txt")) || present(in("dir", "extra")) || st.Deleted != 2 {
		t.Fatalf("entries the snapshot does not hold must go: new.txt %v, dir/extra %v, deleted %d", present(in("new.txt")), present(in("dir", "extra")), st.Deleted)
	}
	if !present(in("cache", "x")) || !present(filepath.Join(target, "outside")) {
		t.Fatal("an excluded path and anything outside the backed-up paths must be kept")
	}
	if b, _ := os.ReadFile(in("dir", "sub", "c")); string(b) != "c" || len(st.UnmatchedExcludes) != 1 {
		t.Fatalf("snapshot files %q; unmatched excludes %v (the exclude matched nothing in the snapshot)", b, st.UnmatchedExcludes)
	}
}
