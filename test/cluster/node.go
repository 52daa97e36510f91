package cluster

import (
	"fmt"
	"os"
	"path/filepath"
)

// PauseImage is the sandbox image containerd uses for every pod. It is built
// from hack/tools/images/pause and imported before the kubelet starts.
const PauseImage = "cairn.local/pause:1"

// containerdConfig keeps all of containerd's state under the cluster
// directory. restrict_oom_score_adj is required here: the sandbox lacks
// CAP_SYS_RESOURCE and without it every pod sandbox dies with "runc create
// failed: can't get final child's PID from pipe: EOF".
func containerdConfig(l layout, b binaries) string {
	c := l.containerd()
	return fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = %q

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = %q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = %q
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %q
    conf_dir = %q
`, filepath.Join(c, "root"), filepath.Join(c, "state"), l.socket(), filepath.Join(c, "opt"),
		PauseImage, b.runc, b.cniDir, filepath.Join(l.cni(), "net.d"))
}

// kubeletConfig is the node's configuration for this sandbox: cgroupfs on
// cgroup v1 without QoS cgroups, no swap check, no evictions (the disk may be
// nearly full), and client-certificate plus webhook auth so `kubectl logs`
// and exec work through the API server only.
func kubeletConfig(l layout, p ports, maxPods int) string {
	pki := func(f string) string { return filepath.Join(l.pki(), f) }
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: %s
port: %d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %d
tlsCertFile: %s
tlsPrivateKeyFile: %s
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: %s}
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://%s
cgroupDriver: cgroupfs
failCgroupV1: false
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
localStorageCapacityIsolation: false
evictionHard: {memory.available: "0%%", nodefs.available: "0%%", nodefs.inodesFree: "0%%", imagefs.available: "0%%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
registerNode: true
resolvConf: /etc/resolv.conf
hairpinMode: hairpin-veth
staticPodPath: ""
syncFrequency: 10s
nodeStatusUpdateFrequency: 5s
maxPods: %d
`, bridgeIP, p.Kubelet, p.KubeletHZ, pki("kubelet.crt"), pki("kubelet.key"), pki("ca.crt"), l.socket(), maxPods)
}

// kubeletArgs points the kubelet at its config, kubeconfig and root dir and
// makes it report the bridge address, so the API server reaches it there.
func kubeletArgs(l layout) []string {
	return []string{
		"--config=" + filepath.Join(l.config(), "kubelet.yaml"),
		"--kubeconfig=" + filepath.Join(l.config(), "kubelet-client.kubeconfig"),
		"--root-dir=" + l.kubelet(),
		"--cert-dir=" + l.pki(),
		"--hostname-override=" + NodeName,
		"--node-ip=" + bridgeIP,
		"--v=1",
	}
}

// proxyConfig runs kube-proxy in iptables mode so that pods reach the API
// server through the `kubernetes` Service. It leaves conntrack sysctls alone
// (the sandbox may not allow changing them) and serves NodePorts only on the
// bridge address.
func proxyConfig(l layout, p ports) string {
	return fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: %s
mode: iptables
hostnameOverride: %s
clusterCIDR: %s
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:%d
metricsBindAddress: 127.0.0.1:%d
nodePortAddresses: ["%s/32"]
conntrack:
  maxPerCore: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
iptables:
  localhostNodePorts: false
  syncPeriod: 10s
`, filepath.Join(l.config(), "kube-proxy.kubeconfig"), NodeName, PodCIDR, p.ProxyHZ, p.ProxyMet, bridgeIP)
}

// writeNodeConfigs writes containerd's, the kubelet's and kube-proxy's
// configuration files and the CNI network.
func writeNodeConfigs(l layout, b binaries, p ports, maxPods int) error {
	files := map[string]string{
		"containerd.toml": containerdConfig(l, b),
		"kubelet.yaml":    kubeletConfig(l, p, maxPods),
		"kube-proxy.yaml": proxyConfig(l, p),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(l.config(), name), []byte(body), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return writeCNIConfig(l)
}
