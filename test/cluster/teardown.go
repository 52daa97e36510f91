package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// stopOrder is the order components are ended in: the node first (so no new
// containers appear), then the control plane, etcd last.
var stopOrder = []string{"kube-proxy", "kubelet", "containerd", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"}

// teardown ends every process of the cluster in dir and removes its traces:
// containers and their shims, pod network namespaces, iptables rules, mounts,
// the bridge and the state directory. It works from whatever is left (a
// healthy cluster, a crashed one, or one whose start died half-way), so it
// is both `cluster-down` and the recovery step of `cluster-up`.
func teardown(dir string, st *State, log func(string, ...any)) error {
	l := layout{dir: dir}
	var errs []error
	procs := map[string][]Proc{}
	if st != nil {
		for _, p := range st.Procs {
			procs[p.Name] = append(procs[p.Name], p)
		}
	}
	if err := stopAddons(dir); err != nil {
		errs = append(errs, err)
	}
	for _, name := range stopOrder {
		if name == "containerd" {
			if n := killShims(l.socket()); n > 0 {
				log("ended %d container processes", n)
			}
		}
		for _, p := range procs[name] {
			if err := stopProc(p, 10*time.Second); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if n := killStrays(dir); n > 0 {
		log("ended %d unrecorded processes of the cluster", n)
	}
	killShims(l.socket())
	removeNetns()
	if err := cleanupIPTables(); err != nil {
		errs = append(errs, err)
	}
	if err := unmountAll(dir); err != nil {
		return errors.Join(append(errs, err)...)
	}
	if ip, err := exec.LookPath("ip"); err == nil {
		if err := deleteBridge(ip); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", dir, err))
	}
	return errors.Join(errs...)
}

// killStrays ends processes that name dir in their command line but are not
// in the state file (a start that crashed before recording them). Only the
// cluster's own programs are considered, never the caller itself.
func killStrays(dir string) int {
	n := 0
	for _, p := range listProcs() {
		if p.pid == os.Getpid() || len(p.cmdline) == 0 {
			continue
		}
		base := filepath.Base(p.cmdline[0])
		if !slices.ContainsFunc(stopOrder, func(c string) bool { return strings.HasPrefix(base, c) }) {
			continue
		}
		if !slices.ContainsFunc(p.cmdline[1:], func(a string) bool { return strings.Contains(a, dir+"/") || strings.HasSuffix(a, dir) }) {
			continue
		}
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
		n++
	}
	return n
}

// cleanupIPTables removes kube-proxy's chains with `kube-proxy --cleanup`, so
// rules of a dead cluster never redirect traffic. Without the binary there
// is nothing of kube-proxy's to clean.
func cleanupIPTables() error {
	bin := filepath.Join(CacheDir(), "bin", "kube-proxy-"+KubeVersion)
	if _, err := os.Stat(bin); err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--cleanup", "--v=0").CombinedOutput()
	if err != nil {
		return fmt.Errorf("kube-proxy --cleanup: %v: %s", err, strings.TrimSpace(tail2(string(out))))
	}
	return nil
}

// tail2 keeps the last two lines of s for one-line error messages.
func tail2(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 2 {
		lines = lines[len(lines)-2:]
	}
	return strings.Join(lines, " | ")
}
