package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// binaries are the absolute paths of every program the cluster runs.
type binaries struct {
	apiserver, controllerManager, scheduler, kubelet, proxy string
	etcd, containerd, ctr, runc, iptables, ip, cniDir       string
}

// systemPackages maps each system program to the Debian package that holds
// it, so a missing one produces an error naming what to install.
var systemPackages = map[string]string{
	"etcd":       "etcd-server",
	"containerd": "containerd",
	"ctr":        "containerd",
	"runc":       "runc",
	"iptables":   "iptables",
	"ip":         "iproute2",
	"conntrack":  "conntrack",
}

// findBinaries locates the pinned kube binaries in the tool cache and the
// system programs on PATH. The error names the first missing piece and the
// command that provides it.
func findBinaries(cache string) (binaries, error) {
	var b binaries
	kube := map[string]*string{
		"kube-apiserver": &b.apiserver, "kube-controller-manager": &b.controllerManager,
		"kube-scheduler": &b.scheduler, "kubelet": &b.kubelet, "kube-proxy": &b.proxy,
	}
	for name, dst := range kube {
		p := filepath.Join(cache, "bin", name+"-"+KubeVersion)
		if _, err := os.Stat(p); err != nil {
			return b, fmt.Errorf("%s %s is not in the tool cache (%s): run `make tools`", name, KubeVersion, p)
		}
		*dst = p
	}
	sys := map[string]*string{
		"etcd": &b.etcd, "containerd": &b.containerd, "ctr": &b.ctr, "runc": &b.runc,
		"iptables": &b.iptables, "ip": &b.ip,
	}
	for name, dst := range sys {
		p, err := exec.LookPath(name)
		if err != nil {
			return b, fmt.Errorf("%s not found on PATH: run `make tools` (or apt-get install -y %s)", name, systemPackages[name])
		}
		*dst = p
	}
	if _, err := exec.LookPath("conntrack"); err != nil {
		return b, fmt.Errorf("conntrack not found on PATH (kube-proxy needs it): run `make tools` (or apt-get install -y conntrack)")
	}
	b.cniDir = "/usr/lib/cni"
	for _, plugin := range []string{"bridge", "host-local", "loopback", "portmap"} {
		if _, err := os.Stat(filepath.Join(b.cniDir, plugin)); err != nil {
			return b, fmt.Errorf("CNI plugin %s missing in %s: run `make tools` (or apt-get install -y containernetworking-plugins)", plugin, b.cniDir)
		}
	}
	return b, nil
}

// KubectlPath returns the kubectl built from the same pin as the cluster
// (the machine's own kubectl, if any, may be too old for this API server).
func KubectlPath() (string, error) {
	p := filepath.Join(CacheDir(), "bin", "kubectl-"+KubeVersion)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("kubectl %s is not in the tool cache (%s): run `make tools`", KubeVersion, p)
	}
	return p, nil
}
