// Package proc starts, watches and stops the host processes of Cairn's test
// harness (the cluster components, the storage add-ons, the object-store
// emulators). Every process writes to its own log file, is identified by pid
// and binary (so a recycled pid is never signalled), and every wait has a
// deadline that reports the last state seen or the log tail of a process
// that died.
package proc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Proc is one started process. The exported fields are what a state or pid
// file records so another program can stop it later.
type Proc struct {
	// Name is a short label, e.g. "kube-apiserver"; the log is <Name>.log.
	Name string `json:"name"`
	// Pid is the process id.
	Pid int `json:"pid"`
	// Exe is the resolved binary. Signals are only sent while the pid still
	// runs it.
	Exe string `json:"exe"`
	// Log holds the process's stdout and stderr.
	Log string `json:"log"`

	done    chan struct{}
	waitErr error
}

// Options tune Start.
type Options struct {
	// LogDir receives <name>.log (required).
	LogDir string
	// Env is added to the caller's environment.
	Env []string
	// WorkDir is the working directory; default LogDir.
	WorkDir string
	// Detach starts the process in a session of its own that outlives the
	// caller (for `make cluster-up`). Otherwise it gets its own process
	// group and is killed when the calling thread exits.
	Detach bool
	// Truncate empties an existing log instead of appending to it.
	Truncate bool
}

// Start runs argv as a process named name with output to its log file.
func Start(name string, argv []string, o Options) (*Proc, error) {
	if len(argv) == 0 || argv[0] == "" {
		return nil, fmt.Errorf("start %s: no program given", name)
	}
	if o.LogDir == "" {
		return nil, fmt.Errorf("start %s: no log directory given", name)
	}
	if err := os.MkdirAll(o.LogDir, 0o755); err != nil {
		return nil, fmt.Errorf("start %s: log directory: %w", name, err)
	}
	logPath := filepath.Join(o.LogDir, name+".log")
	flags := os.O_CREATE | os.O_WRONLY | os.O_APPEND
	if o.Truncate {
		flags = os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	}
	f, err := os.OpenFile(logPath, flags, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log for %s: %w", name, err)
	}
	defer f.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Dir = o.WorkDir
	if cmd.Dir == "" {
		cmd.Dir = o.LogDir
	}
	if len(o.Env) > 0 {
		cmd.Env = append(os.Environ(), o.Env...)
	}
	if o.Detach {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, argv[0], err)
	}
	exe, err := filepath.EvalSymlinks(cmd.Path)
	if err != nil {
		exe = cmd.Path
	}
	p := &Proc{Name: name, Pid: cmd.Process.Pid, Exe: exe, Log: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Exited reports whether the process has ended. For a Proc loaded from a
// state file (not started by this program) it asks /proc.
func (p *Proc) Exited() bool {
	if p.done == nil {
		return !Runs(p.Pid, p.Exe)
	}
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Dead reports whether the process has ended and, if so, why: its exit
// status and the last lines of its log.
func (p *Proc) Dead() (bool, string) {
	if !p.Exited() {
		return false, ""
	}
	status := "is not running"
	if p.done != nil {
		status = fmt.Sprintf("exited (%v)", p.waitErr)
	}
	return true, fmt.Sprintf("%s %s; last log lines (%s):\n%s", p.Name, status, p.Log, Tail(p.Log, 15))
}

// Stop ends the process: SIGTERM to it and its process group, SIGKILL after
// grace. Nothing is signalled unless the pid still runs p.Exe.
func (p *Proc) Stop(grace time.Duration) error {
	err := StopPid(p.Pid, p.Exe, grace)
	if err == nil && p.done != nil {
		select {
		case <-p.done:
		case <-time.After(grace):
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", p.Name, err)
	}
	return nil
}

// StopPid ends pid (and its process group when it leads one) if it still
// runs exe: SIGTERM, then SIGKILL after grace.
func StopPid(pid int, exe string, grace time.Duration) error {
	if !Runs(pid, exe) {
		return nil
	}
	signal(pid, syscall.SIGTERM)
	if waitGone(pid, exe, grace) {
		return nil
	}
	signal(pid, syscall.SIGKILL)
	if waitGone(pid, exe, 5*time.Second) {
		return nil
	}
	return fmt.Errorf("pid %d (%s) survived SIGKILL", pid, exe)
}

// signal sends sig to pid and, when pid leads its process group, to the group.
func signal(pid int, sig syscall.Signal) {
	if pgid, err := syscall.Getpgid(pid); err == nil && pgid == pid {
		_ = syscall.Kill(-pid, sig)
	}
	_ = syscall.Kill(pid, sig)
}

// waitGone polls until pid no longer runs exe or d passes.
func waitGone(pid int, exe string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for Runs(pid, exe) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// Runs reports whether pid is alive (not a zombie) and executes exe. The
// check keeps a recycled pid from ever being signalled.
func Runs(pid int, exe string) bool {
	if pid <= 0 || !Alive(pid) {
		return false
	}
	link, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return false
	}
	link = strings.TrimSuffix(link, " (deleted)")
	if want, err := filepath.EvalSymlinks(exe); err == nil && link == want {
		return true
	}
	return link == exe
}

// Alive reports whether pid exists and has not ended (a zombie has).
func Alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state letter follows the parenthesised command name.
	i := strings.LastIndexByte(string(stat), ')')
	return !(i > 0 && len(stat) > i+2 && stat[i+2] == 'Z')
}

// Tail returns the last n lines of the file at path, for error messages.
func Tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	text := strings.TrimRight(string(data), "\n")
	if text == "" {
		return "(log empty)"
	}
	lines := strings.Split(text, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TailLine is Tail joined with " | ", for one-line messages.
func TailLine(path string, n int) string {
	return strings.ReplaceAll(Tail(path, n), "\n", " | ")
}
