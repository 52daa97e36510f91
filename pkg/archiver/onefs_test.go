package archiver

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestOneFileSystemStopsAtMountPoints(t *testing.T) {
	r := newRepo(t)
	src := t.TempDir()
	mnt := filepath.Join(src, "mnt")
	os.Mkdir(mnt, 0o755)
	os.WriteFile(filepath.Join(src, "here.txt"), []byte("on the source file system"), 0o644)
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount tmpfs here (%v)", err)
	}
	defer syscall.Unmount(mnt, syscall.MNT_DETACH)
	os.WriteFile(filepath.Join(mnt, "other-fs.txt"), []byte("on another file system"), 0o644)

	sn, _ := backup(t, r, Options{Paths: []string{src}, OneFileSystem: true}, nil)
	got := strings.Join(names(t, r, sn.Tree, ""), " ")
	if !strings.Contains(got, src+"/mnt") || strings.Contains(got, "other-fs.txt") || !strings.Contains(got, "here.txt") {
		t.Fatalf("one-file-system snapshot: %s", got)
	}
	sn, _ = backup(t, r, Options{Paths: []string{src}}, nil)
	if got := strings.Join(names(t, r, sn.Tree, ""), " "); !strings.Contains(got, "other-fs.txt") {
		t.Fatalf("without one-file-system the mount's content is missing: %s", got)
	}
}
