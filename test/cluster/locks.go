package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// fileLock is an flock(2) lock on a file next to the state directory. Locks
// end with the process, so a crashed test binary never leaves one behind.
type fileLock struct{ f *os.File }

// lockFile takes an exclusive (or shared) lock on path, waiting for it.
func lockFile(path string, exclusive bool) (*fileLock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &fileLock{f: f}, nil
}

// unlock releases the lock.
func (l *fileLock) unlock() {
	if l != nil && l.f != nil {
		_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
		l.f.Close()
	}
}

// startLockPath serialises Attach-or-Start between test binaries that run at
// the same time (go test runs packages in parallel), so only one starts.
func startLockPath(dir string) string { return filepath.Clean(dir) + ".lock" }

// usersLockPath is held shared by every test binary using the cluster; the
// binary that started it takes it exclusively before stopping, so it waits
// until no other package still runs tests against it. Lock order, to never
// deadlock: the users lock first, then the start lock.
func usersLockPath(dir string) string { return filepath.Clean(dir) + ".users" }

// Up returns the running cluster in opts.Dir, starting one if there is
// none; the cluster is left running when the caller exits (it is what `make
// cluster-up` runs). It takes the same lock as test binaries, so it never
// starts a second cluster next to one being started.
func Up(ctx context.Context, opts Options) (*Cluster, error) {
	c, err := attachOrStart(ctx, opts.withDefaults())
	if err != nil {
		return nil, err
	}
	c.owned = false
	return c, nil
}
