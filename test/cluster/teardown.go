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

	"github.com/cairnbackup/cairn/test/internal/proc"
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
	procs := map[string][]proc.Proc{}
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
			if err := p.Stop(10 * time.Second); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if n := killStrays(dir); n > 0 {
		log("ended %d unrecorded processes of the cluster", n)
	}
	killShims(l.socket())
	removeNetns()
	removeCNIResults()
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

// cleanupIPTables removes kube-proxy's rules with `kube-proxy --cleanup`,
// then every remaining KUBE-* chain (the kubelet's canaries and hints), so
// rules of a dead cluster never redirect traffic. Only this cluster runs
// Kubernetes on the machine, so every KUBE-* chain is its own.
func cleanupIPTables() error {
	var errs []error
	bin := filepath.Join(CacheDir(), "bin", "kube-proxy-"+KubeVersion)
	if _, err := os.Stat(bin); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := exec.CommandContext(ctx, bin, "--cleanup", "--v=0").CombinedOutput()
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("kube-proxy --cleanup: %v: %s", err, tail2(string(out))))
		}
	}
	for _, tool := range []string{"iptables", "ip6tables"} {
		if err := dropKubeChains(tool); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// dropKubeChains flushes and deletes the KUBE-* chains of every table with
// the given tool (iptables or ip6tables); a missing tool is not an error.
func dropKubeChains(tool string) error {
	path, err := exec.LookPath(tool)
	if err != nil {
		return nil
	}
	for _, table := range []string{"filter", "nat", "mangle"} {
		out, err := exec.Command(path, "-w", "5", "-t", table, "-S").Output()
		if err != nil {
			continue
		}
		var chains []string
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "-N" && strings.HasPrefix(f[1], "KUBE-") {
				chains = append(chains, f[1])
			}
		}
		// The kubelet jumps from INPUT/OUTPUT to KUBE-FIREWALL; such plain
		// jumps (no quoted arguments) are deleted so the chain can go.
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) > 2 && f[0] == "-A" && !strings.HasPrefix(f[1], "KUBE-") &&
				strings.Contains(line, "-j KUBE-") && !strings.Contains(line, `"`) {
				_ = exec.Command(path, append([]string{"-w", "5", "-t", table, "-D"}, f[1:]...)...).Run()
			}
		}
		for _, c := range chains {
			_ = exec.Command(path, "-w", "5", "-t", table, "-F", c).Run()
		}
		for _, c := range chains {
			if out, err := exec.Command(path, "-w", "5", "-t", table, "-X", c).CombinedOutput(); err != nil {
				return fmt.Errorf("%s -t %s -X %s: %s", tool, table, c, strings.TrimSpace(string(out)))
			}
		}
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

// otherClusterDir returns the state directory of a cluster that runs from a
// directory other than dir ("" if none). Only one cluster fits on a machine
// (the bridge, the kubelet and iptables are machine-wide), and cleaning up
// "leftovers" would break the other one, so Start refuses instead.
func otherClusterDir(dir string) string {
	for _, d := range runningClusterDirs() {
		if d != filepath.Clean(dir) {
			return d
		}
	}
	return ""
}

// runningClusterDirs lists the state directories of the API servers and
// kubelets running on the machine, read from their --cert-dir/--root-dir.
func runningClusterDirs() []string {
	markers := map[string]string{"kube-apiserver": "--cert-dir=", "kubelet": "--root-dir="}
	var dirs []string
	for _, p := range listProcs() {
		if len(p.cmdline) == 0 {
			continue
		}
		base := filepath.Base(p.cmdline[0])
		for comp, flag := range markers {
			if !strings.HasPrefix(base, comp+"-") {
				continue
			}
			for _, a := range p.cmdline[1:] {
				if v, ok := strings.CutPrefix(a, flag); ok && !slices.Contains(dirs, filepath.Dir(v)) {
					dirs = append(dirs, filepath.Dir(v))
				}
			}
		}
	}
	return dirs
}
