package cluster

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cairnbackup/cairn/test/internal/proc"
)

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
			if proc.Alive(pid) {
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
