package restorer_test

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cairnbackup/cairn/pkg/restorer"
)

// mountTmpfs mounts a small tmpfs (needs root; the test is skipped
// otherwise) and unmounts it at the end.
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount tmpfs here (%v)", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
}

func TestFullDiskIsAClearError(t *testing.T) {
	r := newRepo(t)
	_, sn := backupFixture(t, r) // holds two 5 MiB files
	target := filepath.Join(t.TempDir(), "small")
	if err := mkdir(target); err != nil {
		t.Fatal(err)
	}
	mountTmpfs(t, target, "2m")
	_, err := restorer.Run(context.Background(), r, sn.Tree, restorer.Options{Target: target})
	if err == nil || !strings.Contains(err.Error(), "file system is full") {
		t.Fatalf("got %v, want a 'file system is full' error", err)
	}
}
