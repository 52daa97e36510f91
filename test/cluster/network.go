package cluster

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// ensureBridge creates the pod bridge with the host's address on it (if it is
// not there yet) and brings it up. It exists before any server starts, so the
// API server and the test object stores can bind to BridgeIP() early.
func ensureBridge(ipTool string) error {
	if _, err := os.Stat("/sys/class/net/" + BridgeName); err != nil {
		if out, err := exec.Command(ipTool, "link", "add", BridgeName, "type", "bridge").CombinedOutput(); err != nil {
			return fmt.Errorf("create bridge %s (needs root / CAP_NET_ADMIN): %s", BridgeName, strings.TrimSpace(string(out)))
		}
	}
	out, err := exec.Command(ipTool, "-o", "-4", "addr", "show", "dev", BridgeName).CombinedOutput()
	if err != nil {
		return fmt.Errorf("read addresses of %s: %s", BridgeName, strings.TrimSpace(string(out)))
	}
	if !strings.Contains(string(out), " "+bridgeIP+"/16 ") {
		if out, err := exec.Command(ipTool, "addr", "add", bridgeIP+"/16", "dev", BridgeName).CombinedOutput(); err != nil {
			return fmt.Errorf("put %s on %s: %s", bridgeIP, BridgeName, strings.TrimSpace(string(out)))
		}
	}
	if out, err := exec.Command(ipTool, "link", "set", BridgeName, "up").CombinedOutput(); err != nil {
		return fmt.Errorf("bring %s up: %s", BridgeName, strings.TrimSpace(string(out)))
	}
	return nil
}

// deleteBridge removes the pod bridge; a missing bridge is not an error.
func deleteBridge(ipTool string) error {
	if _, err := os.Stat("/sys/class/net/" + BridgeName); err != nil {
		return nil
	}
	if out, err := exec.Command(ipTool, "link", "delete", BridgeName).CombinedOutput(); err != nil {
		return fmt.Errorf("delete bridge %s: %s", BridgeName, strings.TrimSpace(string(out)))
	}
	return nil
}

// writeCNIConfig writes the CNI network containerd gives every pod: a veth on
// the bridge with an address from PodCIDR (IPAM state kept under the cluster
// directory) and the host as the gateway. No masquerading: pods only talk to
// each other and to the host's bridge address.
func writeCNIConfig(l layout) error {
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       "cairn",
		"plugins": []any{
			map[string]any{
				"type": "bridge", "bridge": BridgeName, "isGateway": true, "ipMasq": false,
				"hairpinMode": true,
				"ipam": map[string]any{
					"type":    "host-local",
					"dataDir": filepath.Join(l.cni(), "ipam"),
					"ranges":  [][]map[string]string{{{"subnet": PodCIDR, "gateway": bridgeIP}}},
					"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
			map[string]any{"type": "loopback"},
		},
	}
	data, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Join(l.cni(), "net.d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "10-cairn.conflist"), data, 0o644)
}

// mountsUnder lists the mount points at or below dir, deepest first, as read
// from /proc/self/mountinfo.
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out, sc.Err()
}

// unescapeMount undoes the octal escapes (\040 for space) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unmountAll detaches every mount below dir (volumes, container root
// filesystems, shm) and fails if any is still there afterwards, because
// deleting a directory with a live bind mount below it would delete the
// mounted data too.
func unmountAll(dir string) error {
	for pass := 0; pass < 3; pass++ {
		mps, err := mountsUnder(dir)
		if err != nil {
			return fmt.Errorf("read mount table: %w", err)
		}
		if len(mps) == 0 {
			return nil
		}
		for _, mp := range mps {
			_ = syscall.Unmount(mp, syscall.MNT_DETACH)
		}
	}
	mps, _ := mountsUnder(dir)
	if len(mps) > 0 {
		return fmt.Errorf("%d mounts below %s could not be removed (first: %s); unmount them by hand before deleting", len(mps), dir, mps[0])
	}
	return nil
}

// removeNetns deletes the pod network namespaces containerd's CNI setup left
// under /var/run/netns (named cni-<uuid>); deleting them also removes the
// pods' veth ends from the bridge.
// A namespace some live process still uses is left alone.
func removeNetns() {
	inUse := map[uint64]bool{}
	for _, p := range listProcs() {
		var st syscall.Stat_t
		if syscall.Stat(fmt.Sprintf("/proc/%d/ns/net", p.pid), &st) == nil {
			inUse[st.Ino] = true
		}
	}
	ents, _ := os.ReadDir("/var/run/netns")
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "cni-") {
			continue
		}
		p := filepath.Join("/var/run/netns", e.Name())
		var st syscall.Stat_t
		if syscall.Stat(p, &st) == nil && inUse[st.Ino] {
			continue
		}
		_ = syscall.Unmount(p, syscall.MNT_DETACH)
		_ = os.Remove(p)
	}
}

// cniResultsDir is where libcni caches each attachment's result.
const cniResultsDir = "/var/lib/cni/results"

// removeCNIResults deletes the cached CNI results of the cluster's network
// ("cairn-<container>-<if>") and the loopback results of the same
// containers, which would otherwise pile up across clusters.
func removeCNIResults() {
	ents, _ := os.ReadDir(cniResultsDir)
	ids := map[string]bool{}
	for _, e := range ents {
		if rest, ok := strings.CutPrefix(e.Name(), "cairn-"); ok {
			if id, _, ok := strings.Cut(rest, "-"); ok {
				ids[id] = true
			}
			_ = os.Remove(filepath.Join(cniResultsDir, e.Name()))
		}
	}
	for _, e := range ents {
		if rest, ok := strings.CutPrefix(e.Name(), "cni-loopback-"); ok {
			if id, _, ok := strings.Cut(rest, "-"); ok && ids[id] {
				_ = os.Remove(filepath.Join(cniResultsDir, e.Name()))
			}
		}
	}
}
