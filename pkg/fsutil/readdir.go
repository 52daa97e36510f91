package fsutil

import (
	"os"
	"sync"
	"syscall"
)

// direntBufs holds getdents buffers between listings, so listing many
// small directories does not allocate a buffer each.
var direntBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// ReadDirNames returns the names in the directory at path, without "."
// and "..", in the order the file system gives them. It uses plain system
// calls for the same reason as RawFile: os.Open registers a directory with
// the runtime's poller (an epoll_ctl that fails and four fcntl calls per
// directory), which on a tree of small directories costs more system calls
// than the listing itself. A final symlink is not followed: the caller
// lstat'ed path as a directory, and a directory replaced by a symlink since
// then must not lead the walk elsewhere. On error the names read so far are
// returned with an *os.PathError.
func ReadDirNames(path string) ([]string, error) {
	fd, err := openRetrying(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	bp := direntBufs.Get().(*[]byte)
	defer direntBufs.Put(bp)
	var names []string
	for {
		n, err := syscall.ReadDirent(fd, *bp)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return names, &os.PathError{Op: "readdirent", Path: path, Err: err}
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = syscall.ParseDirent((*bp)[:n], -1, names)
	}
}
