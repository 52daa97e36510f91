package fsfixture

import (
	"syscall"
	"testing"
)

// RamfsDir mounts a fresh ramfs (a file system with no extended
// attributes at all) on a temporary directory, unmounted when the test
// ends, and returns its path. Mounting needs root; without it the test is
// skipped.
func RamfsDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("ramfs", dir, "ramfs", 0, ""); err != nil {
		t.Skipf("cannot mount ramfs (%v)", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}
