// Package addons holds what the storage add-ons of the test cluster share:
// starting their host processes detached (so they outlive `make
// cluster-up`) with pid files that StopAll uses to end them, applying
// manifests, finding cached tools, and bounded waits.
package addons

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Dir is where the add-ons keep pid files, logs and state inside a cluster
// directory.
func Dir(clusterDir string) string { return filepath.Join(clusterDir, "addons") }

// StartProcess starts argv as a detached host process named name: its own
// session, output in <Dir>/<name>.log, pid and binary in <Dir>/<name>.pid.
// A process left by an earlier run under the same name is stopped first, so
// a second install after a crash recovers instead of running two copies.
func StartProcess(clusterDir, name string, argv ...string) error {
	dir := Dir(clusterDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("add-on state directory: %w", err)
	}
	pidFile := filepath.Join(dir, name+".pid")
	if err := stopFromPidFile(pidFile); err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s (%s): %w", name, argv[0], err)
	}
	// Record the resolved binary: /proc/<pid>/exe shows it without symlinks.
	exe, err := filepath.EvalSymlinks(argv[0])
	if err != nil {
		exe = argv[0]
	}
	rec := strconv.Itoa(cmd.Process.Pid) + "\n" + exe + "\n"
	if err := os.WriteFile(pidFile, []byte(rec), 0o644); err != nil {
		_ = cmd.Process.Kill()
		return fmt.Errorf("record pid of %s: %w", name, err)
	}
	// Reap it if it dies while we still run; detached, it outlives us otherwise.
	go func() { _ = cmd.Wait() }()
	return nil
}

// Alive reports whether the add-on process name is still running, and if
// not, the tail of its log for the error message.
func Alive(clusterDir, name string) (bool, string) {
	pid, bin, err := readPidFile(filepath.Join(Dir(clusterDir), name+".pid"))
	if err == nil && ours(pid, bin) {
		return true, ""
	}
	return false, LogTail(clusterDir, name)
}

// LogTail returns the last lines of an add-on's log on one line.
func LogTail(clusterDir, name string) string {
	b, err := os.ReadFile(filepath.Join(Dir(clusterDir), name+".log"))
	if err != nil {
		return "(no log)"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
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
		errs = append(errs, stopFromPidFile(f))
	}
	return errors.Join(errs...)
}

// stopFromPidFile stops the process recorded in pidFile, if any.
func stopFromPidFile(pidFile string) error {
	pid, bin, err := readPidFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err == nil && ours(pid, bin) {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		deadline := time.Now().Add(10 * time.Second)
		for ours(pid, bin) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if ours(pid, bin) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			time.Sleep(200 * time.Millisecond)
		}
		if ours(pid, bin) {
			return fmt.Errorf("add-on process %d (%s) survived SIGKILL", pid, bin)
		}
	}
	if err := os.Remove(pidFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// readPidFile parses "<pid>\n<binary>\n".
func readPidFile(path string) (int, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, "", err
	}
	parts := strings.SplitN(strings.TrimSpace(string(b)), "\n", 2)
	pid, err := strconv.Atoi(parts[0])
	if err != nil || len(parts) != 2 || pid <= 0 {
		return 0, "", fmt.Errorf("pid file %s is malformed", path)
	}
	return pid, parts[1], nil
}

// ours reports whether pid runs bin and is not a zombie.
func ours(pid int, bin string) bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil || strings.TrimSuffix(exe, " (deleted)") != bin {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return false
	}
	return true
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
