package fsutil

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// RawFile is a file used through plain system calls. An os.File
// registers every file with the Go runtime's poller: for a regular file
// that is an epoll_ctl that fails plus several fcntl calls per open, which
// on a tree of small files were more system calls than the reads (backup)
// or writes (restore) themselves. Backup and restore open every file once
// and use it from one goroutine at a time, so they need none of that.
type RawFile struct {
	fd   int
	name string
}

// OpenRaw opens path read-only without following a final symlink,
// without updating its access time when allowed (O_NOATIME needs the
// file's owner or CAP_FOWNER), close-on-exec, and non-blocking so that a
// file replaced by a FIFO since it was listed cannot hang the open (reads
// of regular files ignore O_NONBLOCK). Errors are *os.PathError, like
// os.OpenFile's.
func OpenRaw(path string) (*RawFile, error) {
	flags := syscall.O_RDONLY | syscall.O_NOFOLLOW | syscall.O_CLOEXEC | syscall.O_NONBLOCK
	fd, err := openRetrying(path, flags|syscall.O_NOATIME, 0)
	if errors.Is(err, syscall.EPERM) {
		fd, err = openRetrying(path, flags, 0)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return &RawFile{fd: fd, name: path}, nil
}

// CreateRaw opens path for reading and writing, creating it with perm if
// missing, without following a final symlink (a restore must not write
// through a link planted in the target), close-on-exec.
func CreateRaw(path string, perm uint32) (*RawFile, error) {
	fd, err := openRetrying(path, syscall.O_RDWR|syscall.O_CREAT|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, perm)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return &RawFile{fd: fd, name: path}, nil
}

// openRetrying is open(2), repeated when a signal interrupts it.
func openRetrying(path string, flags int, perm uint32) (int, error) {
	for {
		fd, err := syscall.Open(path, flags, perm)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

// Read implements io.Reader; it returns io.EOF at the end of the file.
func (f *RawFile) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := syscall.Read(f.fd, p)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, &os.PathError{Op: "read", Path: f.name, Err: err}
		}
		if n == 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

// ReadAt implements io.ReaderAt.
func (f *RawFile) ReadAt(p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		n, err := syscall.Pread(f.fd, p[done:], off+int64(done))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return done, &os.PathError{Op: "read", Path: f.name, Err: err}
		}
		if n == 0 {
			return done, io.EOF
		}
		done += n
	}
	return done, nil
}

// WriteAt implements io.WriterAt.
func (f *RawFile) WriteAt(p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		n, err := syscall.Pwrite(f.fd, p[done:], off+int64(done))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return done, &os.PathError{Op: "write", Path: f.name, Err: err}
		}
		if n == 0 {
			return done, &os.PathError{Op: "write", Path: f.name, Err: io.ErrShortWrite}
		}
		done += n
	}
	return done, nil
}

// Truncate sets the file's size (ftruncate).
func (f *RawFile) Truncate(size int64) error {
	for {
		err := syscall.Ftruncate(f.fd, size)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "truncate", Path: f.name, Err: err}
		}
		return nil
	}
}

// Stat fills st with fstat.
func (f *RawFile) Stat(st *syscall.Stat_t) error {
	if err := syscall.Fstat(f.fd, st); err != nil {
		return &os.PathError{Op: "stat", Path: f.name, Err: err}
	}
	return nil
}

// Fd returns the file descriptor (for SEEK_DATA/SEEK_HOLE).
func (f *RawFile) Fd() uintptr { return uintptr(f.fd) }

// Close closes the file; a second Close is a no-op.
func (f *RawFile) Close() error {
	if f.fd < 0 {
		return nil
	}
	err := syscall.Close(f.fd)
	f.fd = -1
	if err != nil {
		return &os.PathError{Op: "close", Path: f.name, Err: err}
	}
	return nil
}
