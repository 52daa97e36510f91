package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/pkg/fsutil"
)

// TestXattrsBackupAndRestore backs up files and a directory with extended
// attributes (and a symlink, whose own attributes are kept) and restores them.
func TestXattrsBackupAndRestore(t *testing.T) {
	setupRepo(t)
	src := filepath.Join(t.TempDir(), "data")
	os.MkdirAll(filepath.Join(src, "sub"), 0o755)
	f := filepath.Join(src, "sub", "f")
	os.WriteFile(f, []byte("content"), 0o644)
	if err := unix.Lsetxattr(f, "user.origin", []byte("camera"), 0); err != nil {
		t.Skipf("no user xattrs here: %v", err)
	}
	unix.Lsetxattr(filepath.Join(src, "sub"), "user.dir", []byte("d"), 0)
	os.Symlink("f", filepath.Join(src, "sub", "l"))
	if os.Geteuid() == 0 {
		unix.Lsetxattr(filepath.Join(src, "sub", "l"), "trusted.link", []byte("own"), 0)
	}
	mustCairn(t, "repo", "backup", "-q", src)
	target := t.TempDir()
	mustCairn(t, "repo", "restore", "-q", "--target", target, "latest")
	for _, p := range []string{"sub", "sub/f", "sub/l"} {
		want, _, _ := fsutil.ReadXattrs(filepath.Join(src, p))
		got, _, _ := fsutil.ReadXattrs(filepath.Join(target, src, p))
		if !slices.EqualFunc(want, got, func(a, b fsutil.Xattr) bool { return a.Name == b.Name && string(a.Value) == string(b.Value) }) || len(want) == 0 {
			t.Errorf("%s: restored %q, want %q", p, got, want)
		}
	}
}
