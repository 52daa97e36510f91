package cluster

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/cairnbackup/cairn/test/internal/proc"
)

// TestKubeVersionMatchesPin keeps KubeVersion in step with the module pin the
// binaries are built from; a mismatch would look for binaries never built.
func TestKubeVersionMatchesPin(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "hack", "tools", "k8s", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "require k8s.io/kubernetes "+KubeVersion+"\n") {
		t.Fatalf("hack/tools/k8s/go.mod does not pin k8s.io/kubernetes %s; update KubeVersion and the pin together", KubeVersion)
	}
}

// TestPKI generates the certificates and checks the chain, the SANs pods and
// the host use, and that every kubeconfig loads.
func TestPKI(t *testing.T) {
	l := layout{dir: t.TempDir()}
	for _, d := range []string{l.pki(), l.config()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := writePKI(l, ports{APIServer: 6443}); err != nil {
		t.Fatal(err)
	}
	ca := readCert(t, filepath.Join(l.pki(), "ca.crt"))
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	api := readCert(t, filepath.Join(l.pki(), "apiserver.crt"))
	for _, host := range []string{BridgeIP(), "198.19.0.1", "kubernetes.default.svc", "127.0.0.1"} {
		if _, err := api.Verify(x509.VerifyOptions{Roots: pool, DNSName: host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("apiserver cert not valid for %s: %v", host, err)
		}
	}
	for _, id := range identities {
		c := readCert(t, filepath.Join(l.pki(), id.file+".crt"))
		if _, err := c.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("%s client cert: %v", id.file, err)
		}
		if c.Subject.CommonName != id.cn {
			t.Errorf("%s CN %q, want %q", id.file, c.Subject.CommonName, id.cn)
		}
		if st, err := os.Stat(filepath.Join(l.pki(), id.file+".key")); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s.key must exist with mode 0600: %v %v", id.file, st.Mode(), err)
		}
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", l.adminKubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://198.18.0.1:6443" {
		t.Errorf("admin kubeconfig server %q", cfg.Host)
	}
	for _, f := range []string{"controller-manager", "scheduler", "kubelet-client", "kube-proxy"} {
		if _, err := clientcmd.BuildConfigFromFlags("", filepath.Join(l.config(), f+".kubeconfig")); err != nil {
			t.Errorf("%s kubeconfig: %v", f, err)
		}
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatalf("%s holds no PEM", path)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestNodeConfigs checks that the generated YAML parses and carries the
// settings this sandbox needs.
func TestNodeConfigs(t *testing.T) {
	l := layout{dir: t.TempDir()}
	if err := os.MkdirAll(l.config(), 0o700); err != nil {
		t.Fatal(err)
	}
	b := binaries{runc: "/usr/sbin/runc", cniDir: "/usr/lib/cni"}
	if err := writeNodeConfigs(l, b, ports{Kubelet: 1, KubeletHZ: 2, ProxyHZ: 3, ProxyMet: 4}, DefaultMaxPods); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"kubelet.yaml", "kube-proxy.yaml"} {
		data, err := os.ReadFile(filepath.Join(l.config(), f))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(data, &m); err != nil {
			t.Errorf("%s does not parse: %v", f, err)
		}
		if f == "kubelet.yaml" && fmt.Sprint(m["maxPods"]) != fmt.Sprint(DefaultMaxPods) {
			t.Errorf("kubelet.yaml has maxPods %v, want %d", m["maxPods"], DefaultMaxPods)
		}
	}
	toml, _ := os.ReadFile(filepath.Join(l.config(), "containerd.toml"))
	for _, want := range []string{"restrict_oom_score_adj = true", `sandbox_image = "` + PauseImage + `"`, l.socket()} {
		if !strings.Contains(string(toml), want) {
			t.Errorf("containerd.toml lacks %q", want)
		}
	}
	cni, _ := os.ReadFile(filepath.Join(l.cni(), "net.d", "10-cairn.conflist"))
	if !strings.Contains(string(cni), PodCIDR) || !strings.Contains(string(cni), BridgeName) {
		t.Errorf("CNI config lacks the pod CIDR or bridge: %s", cni)
	}
}

// TestAddressRanges guards the network rule: nothing in 10/8, 172.16/12 or
// 192.168/16, and the bridge address inside the pod range.
func TestAddressRanges(t *testing.T) {
	flagged := []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}
	for _, c := range []string{PodCIDR, ServiceCIDR} {
		ip, _, err := net.ParseCIDR(c)
		if err != nil {
			t.Fatal(err)
		}
		_, bench, _ := net.ParseCIDR("198.18.0.0/15")
		if !bench.Contains(ip) {
			t.Errorf("%s is outside 198.18.0.0/15", c)
		}
		for _, f := range flagged {
			_, n, _ := net.ParseCIDR(f)
			if n.Contains(ip) {
				t.Errorf("%s is inside the flagged range %s", c, f)
			}
		}
	}
	_, pods, _ := net.ParseCIDR(PodCIDR)
	if !pods.Contains(net.ParseIP(BridgeIP())) {
		t.Errorf("bridge IP %s outside %s", BridgeIP(), PodCIDR)
	}
}

// TestStateRoundTrip saves and loads the state, and checks that a corrupt
// file is reported with the command that fixes it.
func TestStateRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if st, err := loadState(path); st != nil || err != nil {
		t.Fatalf("missing file: got %v, %v; want nil, nil", st, err)
	}
	in := &State{KubeVersion: KubeVersion, Dir: "/x", Procs: []proc.Proc{{Name: "etcd", Pid: 42, Exe: "/usr/bin/etcd"}}, Ready: true}
	if err := in.save(path); err != nil {
		t.Fatal(err)
	}
	out, err := loadState(path)
	if err != nil || out.Procs[0].Pid != 42 || !out.Ready {
		t.Fatalf("round trip: %+v, %v", out, err)
	}
	if err := os.WriteFile(path, []byte("{broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadState(path); err == nil || !strings.Contains(err.Error(), "make cluster-down") {
		t.Errorf("corrupt state: %v", err)
	}
}

// TestUnmountAll mounts a real tmpfs below a directory and checks that
// unmountAll finds and removes it (root only).
func TestUnmountAll(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount")
	}
	dir := t.TempDir()
	mp := filepath.Join(dir, "a b", "vol")
	if err := os.MkdirAll(mp, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", mp, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount tmpfs here: %v", err)
	}
	mps, err := mountsUnder(dir)
	if err != nil || len(mps) != 1 || mps[0] != mp {
		t.Fatalf("mountsUnder = %q, %v; want [%s]", mps, err, mp)
	}
	if err := unmountAll(dir); err != nil {
		t.Fatal(err)
	}
	if mps, _ := mountsUnder(dir); len(mps) != 0 {
		t.Errorf("still mounted: %q", mps)
	}
}

// TestNamespaceName checks that any test name becomes a valid namespace.
func TestNamespaceName(t *testing.T) {
	dns := regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	for _, n := range []string{"TestSmoke", "TestA/sub_case#01", strings.Repeat("Long", 40), "--"} {
		got := namespaceName(n)
		if len(got) > 63 || !dns.MatchString(got) {
			t.Errorf("namespaceName(%q) = %q is not a DNS label", n, got)
		}
	}
	if namespaceName("x") == namespaceName("x") {
		t.Error("two namespaces for the same test share a name")
	}
}

// TestHasArg covers both flag spellings the shim lookup relies on.
func TestHasArg(t *testing.T) {
	cmd := []string{"shim", "-namespace", "k8s.io", "-address", "/s.sock"}
	if !hasArg(cmd, "-address", "/s.sock") || hasArg(cmd, "-address", "/other") {
		t.Error("hasArg with separate value")
	}
	if !hasArg([]string{"x", "--config=/a"}, "--config", "/a") {
		t.Error("hasArg with =value")
	}
}

// FuzzUnescapeMount feeds arbitrary mount-table fields to the decoder: it
// must never panic and never grow the input.
func FuzzUnescapeMount(f *testing.F) {
	for _, s := range []string{`/a\040b`, `\`, `\0`, `\999x`, "/plain"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if out := unescapeMount(s); len(out) > len(s) {
			t.Fatalf("unescapeMount(%q) grew to %q", s, out)
		}
	})
}

// TestMissingToolsNameTheFix checks that an empty tool cache gives a
// one-line error naming the missing binary and `make tools`.
func TestMissingToolsNameTheFix(t *testing.T) {
	t.Setenv("CAIRN_CACHE", t.TempDir())
	_, err := findBinaries(CacheDir())
	if err == nil || !strings.Contains(err.Error(), "run `make tools`") || strings.Contains(err.Error(), "\n") {
		t.Errorf("findBinaries with an empty cache: %v", err)
	}
	if _, err := KubectlPath(); err == nil || !strings.Contains(err.Error(), "kubectl") || !strings.Contains(err.Error(), "make tools") {
		t.Errorf("KubectlPath with an empty cache: %v", err)
	}
}

// TestOtherClusterDetected runs a process that looks like the API server of
// a cluster in another directory and checks that it is found (so Start and
// Down refuse to tear down someone else's bridge) while our own is not.
func TestOtherClusterDetected(t *testing.T) {
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Skip("no /bin/sh")
	}
	fake := filepath.Join(t.TempDir(), "kube-apiserver-test")
	data, err := os.ReadFile(sh)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fake, data, 0o755); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "elsewhere")
	p, err := proc.Start("fake-apiserver", []string{fake, "-c", "sleep 30", "--cert-dir=" + other + "/pki"}, proc.Options{LogDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	if dirs := runningClusterDirs(); !slices.Contains(dirs, other) {
		t.Errorf("runningClusterDirs = %q, want it to include %s", dirs, other)
	}
	if otherClusterDir("/some/where/else") == "" {
		t.Error("a cluster in another directory was not reported")
	}
	if got := otherClusterDir(other); got == other {
		t.Errorf("our own directory %s reported as another cluster", other)
	}
}

// FuzzLoadState feeds arbitrary bytes as state.json: loading must never
// panic, and a file it cannot read must point at `make cluster-down`.
func FuzzLoadState(f *testing.F) {
	f.Add([]byte(`{"kubeVersion":"v1.36.3","procs":[{"name":"etcd","pid":1,"exe":"/usr/bin/etcd"}],"ready":true}`))
	f.Add([]byte(`{"procs":[{"pid":-1}]}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "state.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := loadState(path)
		if err != nil {
			if !strings.Contains(err.Error(), "make cluster-down") {
				t.Fatalf("error without the fix: %v", err)
			}
			return
		}
		_ = st.alive()
	})
}
