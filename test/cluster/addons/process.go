// Package addons holds what the storage add-ons of the test cluster share:
// starting their host processes detached (so they outlive `make
// cluster-up`) with pid files that StopAll uses to end them, applying
// manifests, and finding cached tools. Processes and waits go through
// test/internal/proc.
package addons

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/cairnbackup/cairn/test/internal/proc"
)

// stopGrace is how long a stopping add-on gets between SIGTERM and SIGKILL.
const stopGrace = 10 * time.Second

// Dir is where the add-ons keep pid files, logs and state inside a cluster
// directory.
func Dir(clusterDir string) string { return filepath.Join(clusterDir, "addons") }

func pidFile(clusterDir, name string) string { return filepath.Join(Dir(clusterDir), name+".pid") }

// StartProcess starts argv as a detached host process named name, with its
// output in <Dir>/<name>.log and its pid and binary in <Dir>/<name>.pid. A
// process left by an earlier run under the same name is stopped first, so a
// second install after a crash recovers instead of running two copies.
func StartProcess(clusterDir, name string, argv ...string) error {
	pf := pidFile(clusterDir, name)
	if err := proc.StopPidFile(pf, stopGrace); err != nil {
		return fmt.Errorf("stop the previous %s: %w", name, err)
	}
	p, err := proc.Start(name, argv, proc.Options{LogDir: Dir(clusterDir), Detach: true})
	if err != nil {
		return err
	}
	if err := proc.WritePidFile(pf, p); err != nil {
		_ = p.Stop(stopGrace)
		return err
	}
	return nil
}

// Alive reports whether the add-on process name is still running, and if
// not, the tail of its log for the error message.
func Alive(clusterDir, name string) (bool, string) {
	pid, exe, err := proc.ReadPidFile(pidFile(clusterDir, name))
	if err == nil && proc.Runs(pid, exe) {
		return true, ""
	}
	return false, LogTail(clusterDir, name)
}

// LogTail returns the last lines of an add-on's log on one line.
func LogTail(clusterDir, name string) string {
	return proc.TailLine(filepath.Join(Dir(clusterDir), name+".log"), 5)
}

// StayUp watches add-on process name for d and fails with its log tail if
// it exits: programs that reject their flags or configuration do so at once.
func StayUp(clusterDir, name string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if alive, log := Alive(clusterDir, name); !alive {
			return fmt.Errorf("%s exited right after start; log: %s", name, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}

// StopAll ends every add-on process recorded under clusterDir (SIGTERM,
// then SIGKILL after 10 s) and removes the pid files. A pid is only
// signalled while it still runs the recorded binary, so a reused pid of an
// unrelated process is never touched. Cluster tear-down calls this before
// it removes the directory.
func StopAll(clusterDir string) error {
	files, err := filepath.Glob(filepath.Join(Dir(clusterDir), "*.pid"))
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range files {
		errs = append(errs, proc.StopPidFile(f, stopGrace))
	}
	return errors.Join(errs...)
}
