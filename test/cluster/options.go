package cluster

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"time"
)

// KubeVersion is the Kubernetes release the cluster runs. It must equal the
// k8s.io/kubernetes pin in hack/tools/k8s/go.mod (a unit test checks this),
// because the binaries are looked up in the tool cache by this version.
const KubeVersion = "v1.36.3"

// Network layout. Both ranges sit inside 198.18.0.0/15 (RFC 2544), because
// traffic to 10.x, 172.16-31.x and 192.168.x is flagged in this environment.
const (
	// PodCIDR is the range the CNI bridge hands pod IPs out of.
	PodCIDR = "198.18.0.0/16"
	// ServiceCIDR is the range of Service cluster IPs.
	ServiceCIDR = "198.19.0.0/16"
	// BridgeName is the Linux bridge pods attach to.
	BridgeName = "cairn0"
	// NodeName is the name the single kubelet registers under.
	NodeName = "cairn-node"
	bridgeIP = "198.18.0.1"
)

// BridgeIP returns the host address on the pod bridge. The API server, the
// kubelet and the test object stores listen on it, so pods reach them directly
// and nothing listens on an outside interface.
func BridgeIP() string { return bridgeIP }

// Options tune Start. The zero value is a working default.
type Options struct {
	// Dir holds all state of the cluster (certificates, etcd data, kubelet
	// and containerd roots, logs, state.json). Default: DefaultDir().
	Dir string
	// CacheDir is the tool cache with the pinned binaries and images.
	// Default: $CAIRN_CACHE or ~/.cache/cairn.
	CacheDir string
	// Log receives one line per start-up step; nil discards them.
	Log io.Writer
	// Timeout bounds the whole start-up. Default: 4 minutes.
	Timeout time.Duration
	// NoAddons skips installing the storage add-ons (CSI mock driver,
	// snapshot controller, local-path provisioner).
	NoAddons bool
	// MaxPods is the kubelet's maxPods. Default: DefaultMaxPods.
	MaxPods int
}

// DefaultMaxPods is the node's pod limit: room for the 100 runner pods of
// `make bench-sessions` next to the integration tests' pods (the
// kubelet's own default, 110, would leave the benchmark's last pods
// Pending behind anything else running). The pod range (/16) and the
// machine's memory hold this many small pods.
const DefaultMaxPods = 250

// CacheDir returns the tool cache: $CAIRN_CACHE, or ~/.cache/cairn. It lives
// outside the repository so that fresh clones on the same machine reuse it.
func CacheDir() string {
	if d := os.Getenv("CAIRN_CACHE"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		home = os.TempDir()
	}
	return filepath.Join(home, ".cache", "cairn")
}

// DefaultDir returns where the cluster keeps its state: $CAIRN_CLUSTER_DIR, or
// <cache>/cluster. Only one cluster runs per machine (it owns the bridge, the
// kubelet and iptables rules), so the place is fixed and well known: a
// second start finds the first one's state there.
func DefaultDir() string {
	if d := os.Getenv("CAIRN_CLUSTER_DIR"); d != "" {
		return d
	}
	return filepath.Join(CacheDir(), "cluster")
}

// withDefaults fills in the zero fields of o.
func (o Options) withDefaults() Options {
	if o.Dir == "" {
		o.Dir = DefaultDir()
	}
	if o.CacheDir == "" {
		o.CacheDir = CacheDir()
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Timeout == 0 {
		o.Timeout = 4 * time.Minute
	}
	if o.MaxPods <= 0 {
		o.MaxPods = DefaultMaxPods
	}
	return o
}

// layout names the files and folders under the state directory.
type layout struct{ dir string }

func (l layout) path(parts ...string) string {
	return filepath.Join(append([]string{l.dir}, parts...)...)
}
func (l layout) pki() string        { return l.path("pki") }
func (l layout) logs() string       { return logsDir(l.dir) }
func (l layout) etcd() string       { return l.path("etcd") }
func (l layout) kubelet() string    { return l.path("kubelet") }
func (l layout) containerd() string { return l.path("containerd") }
func (l layout) cni() string        { return l.path("cni") }
func (l layout) config() string     { return l.path("config") }
func (l layout) stateFile() string  { return l.path("state.json") }
func (l layout) socket() string     { return l.path("containerd", "containerd.sock") }

// AdminKubeconfig is the kubeconfig with cluster-admin rights.
func (l layout) adminKubeconfig() string { return l.path("kubeconfig") }

// freePort asks the kernel for a free TCP port on ip.
func freePort(ip string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
