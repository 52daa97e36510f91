// Package fsutil holds small Linux file-system calls the standard library
// lacks, shared by the restorer and the test fixtures.
package fsutil

import (
	"os"
	"syscall"
	"time"
	"unsafe"
)

// LUtimes sets the access and modification times of path to t without
// following a symlink, so a restored symlink gets its own mtime.
func LUtimes(path string, t time.Time) error {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return err
	}
	ts := [2]syscall.Timespec{syscall.NsecToTimespec(t.UnixNano()), syscall.NsecToTimespec(t.UnixNano())}
	fd := -100 // AT_FDCWD
	const atSymlinkNoFollow = 0x100
	_, _, e := syscall.Syscall6(syscall.SYS_UTIMENSAT, uintptr(fd), uintptr(unsafe.Pointer(p)),
		uintptr(unsafe.Pointer(&ts[0])), atSymlinkNoFollow, 0, 0)
	if e != 0 {
		return &os.PathError{Op: "utimensat", Path: path, Err: e}
	}
	return nil
}
