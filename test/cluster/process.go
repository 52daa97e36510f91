package cluster

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Proc records one process the cluster started, so that Stop (or a later
// start after a crash) can end exactly that process by its pid.
type Proc struct {
	// Name is the component, e.g. "kube-apiserver".
	Name string `json:"name"`
	// Pid is the process id.
	Pid int `json:"pid"`
	// Exe is the binary; before signalling, the pid is checked to still run
	// it, so a recycled pid never gets killed.
	Exe string `json:"exe"`
	// Log is the file that holds the process's stdout and stderr.
	Log string `json:"log"`
	// exited is closed when the process ends (only for processes started
	// by this Go process).
	exited chan struct{}
}

// startProc starts bin in its own process group with output going to
// <logs>/<name>.log. The process outlives the caller (so `cluster-up` can
// exit) and is ended only through stopProc.
func startProc(logs, name, bin string, args []string) (*Proc, error) {
	logPath := filepath.Join(logs, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log for %s: %w", name, err)
	}
	defer f.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Dir = logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	p := &Proc{Name: name, Pid: cmd.Process.Pid, Exe: bin, Log: logPath, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// dead reports whether p has ended, with the tail of its log as the reason.
func (p *Proc) dead() (bool, string) {
	if p.exited != nil {
		select {
		case <-p.exited:
			return true, fmt.Sprintf("%s exited; last log lines (%s):\n%s", p.Name, p.Log, tail(p.Log, 15))
		default:
			return false, ""
		}
	}
	if !runs(p.Pid, p.Exe) {
		return true, fmt.Sprintf("%s (pid %d) is not running; log %s", p.Name, p.Pid, p.Log)
	}
	return false, ""
}

// runs reports whether pid is alive and still executes exe (not a zombie and
// not a recycled pid running something else).
func runs(pid int, exe string) bool {
	if pid <= 0 {
		return false
	}
	if isZombie(pid) {
		return false
	}
	link, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return false
	}
	link = strings.TrimSuffix(link, " (deleted)")
	want, err := filepath.EvalSymlinks(exe)
	if err != nil {
		want = exe
	}
	return link == want || link == exe
}

// stopProc sends SIGTERM to p, waits up to grace for it to end, then sends
// SIGKILL. It does nothing if the pid no longer runs p's binary.
func stopProc(p Proc, grace time.Duration) error {
	if !runs(p.Pid, p.Exe) {
		return nil
	}
	_ = syscall.Kill(p.Pid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !runs(p.Pid, p.Exe) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(p.Pid, syscall.SIGKILL)
	for i := 0; i < 100; i++ {
		if !runs(p.Pid, p.Exe) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s (pid %d) survived SIGKILL", p.Name, p.Pid)
}

// procInfo is what /proc says about one process.
type procInfo struct {
	pid, ppid int
	cmdline   []string
}

// listProcs reads every process's parent and command line from /proc.
func listProcs() []procInfo {
	ents, _ := os.ReadDir("/proc")
	var out []procInfo
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		raw, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		cmd := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		out = append(out, procInfo{pid: pid, ppid: ppid, cmdline: cmd})
	}
	return out
}

// killShims ends every containerd shim that serves the containerd at socket,
// together with all the container processes below it. It works whether or
// not containerd itself still runs, which is what recovery after a crash
// needs. It returns how many processes it signalled.
func killShims(socket string) int {
	procs := listProcs()
	children := map[int][]int{}
	for _, p := range procs {
		children[p.ppid] = append(children[p.ppid], p.pid)
	}
	var victims []int
	var walk func(int)
	walk = func(pid int) {
		victims = append(victims, pid)
		for _, c := range children[pid] {
			walk(c)
		}
	}
	for _, p := range procs {
		if len(p.cmdline) > 0 && strings.Contains(filepath.Base(p.cmdline[0]), "containerd-shim") &&
			hasArg(p.cmdline, "-address", socket) {
			walk(p.pid)
		}
	}
	for _, pid := range victims {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	for i := 0; i < 100; i++ {
		alive := false
		for _, pid := range victims {
			if syscall.Kill(pid, 0) == nil && !isZombie(pid) {
				alive = true
			}
		}
		if !alive {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return len(victims)
}

// isZombie reports whether pid has ended but was not reaped yet.
func isZombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(stat, ')')
	return i > 0 && len(stat) > i+2 && stat[i+2] == 'Z'
}

// hasArg reports whether cmdline holds flag followed by value (or flag=value).
func hasArg(cmdline []string, flag, value string) bool {
	for i, a := range cmdline {
		if a == flag && i+1 < len(cmdline) && cmdline[i+1] == value {
			return true
		}
		if a == flag+"="+value {
			return true
		}
	}
	return false
}

// tail returns the last n lines of the file at path (for error messages).
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
