package cluster

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ports are the TCP ports chosen (free at start time) for one cluster.
type ports struct {
	EtcdClient int `json:"etcdClient"`
	EtcdPeer   int `json:"etcdPeer"`
	APIServer  int `json:"apiServer"`
	Kubelet    int `json:"kubelet"`
	KubeletHZ  int `json:"kubeletHealthz"`
	ProxyHZ    int `json:"proxyHealthz"`
	ProxyMet   int `json:"proxyMetrics"`
}

// pickPorts chooses free ports: etcd and health endpoints on loopback, the
// API server and kubelet on the bridge address that pods can reach.
func pickPorts() (ports, error) {
	var p ports
	for _, x := range []struct {
		dst *int
		ip  string
	}{
		{&p.EtcdClient, "127.0.0.1"}, {&p.EtcdPeer, "127.0.0.1"}, {&p.APIServer, bridgeIP},
		{&p.Kubelet, bridgeIP}, {&p.KubeletHZ, "127.0.0.1"}, {&p.ProxyHZ, "127.0.0.1"}, {&p.ProxyMet, "127.0.0.1"},
	} {
		port, err := freePort(x.ip)
		if err != nil {
			return p, fmt.Errorf("no free TCP port on %s: %w", x.ip, err)
		}
		*x.dst = port
	}
	return p, nil
}

// identities are the client certificates of the cluster's users.
var identities = []certRequest{
	{file: "admin", cn: "cairn-admin", orgs: []string{"system:masters"}, client: true},
	{file: "controller-manager", cn: "system:kube-controller-manager", client: true},
	{file: "scheduler", cn: "system:kube-scheduler", client: true},
	{file: "kubelet-client", cn: "system:node:" + NodeName, orgs: []string{"system:nodes"}, client: true},
	{file: "kube-proxy", cn: "system:kube-proxy", client: true},
	{file: "apiserver-kubelet-client", cn: "kube-apiserver-kubelet-client", orgs: []string{"system:masters"}, client: true},
}

// writePKI creates the CA, serving certificates, client certificates and
// kubeconfigs for every component.
func writePKI(l layout, p ports) error {
	pki := l.pki()
	ca, err := newCA(pki)
	if err != nil {
		return err
	}
	ips := []net.IP{net.ParseIP(bridgeIP), net.ParseIP("127.0.0.1"), net.ParseIP("198.19.0.1")}
	serving := []certRequest{
		{file: "apiserver", cn: "kube-apiserver", server: true, ips: ips,
			dns: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}},
		{file: "kubelet", cn: NodeName, server: true, ips: []net.IP{net.ParseIP(bridgeIP), net.ParseIP("127.0.0.1")}, dns: []string{NodeName, "localhost"}},
	}
	for _, r := range append(serving, identities...) {
		if err := ca.issue(pki, r); err != nil {
			return err
		}
	}
	if err := writeServiceAccountKeys(pki); err != nil {
		return err
	}
	server := "https://" + net.JoinHostPort(bridgeIP, strconv.Itoa(p.APIServer))
	for _, id := range identities {
		path := filepath.Join(l.config(), id.file+".kubeconfig")
		if id.file == "admin" {
			path = l.adminKubeconfig()
		}
		if err := writeKubeconfig(path, server, pki, id.file); err != nil {
			return err
		}
	}
	return nil
}

// writeKubeconfig writes a kubeconfig for the client certificate <pki>/<id>.
func writeKubeconfig(path, server, pki, id string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["cairn"] = &clientcmdapi.Cluster{Server: server, CertificateAuthority: filepath.Join(pki, "ca.crt")}
	cfg.AuthInfos[id] = &clientcmdapi.AuthInfo{
		ClientCertificate: filepath.Join(pki, id+".crt"),
		ClientKey:         filepath.Join(pki, id+".key"),
	}
	cfg.Contexts["cairn"] = &clientcmdapi.Context{Cluster: "cairn", AuthInfo: id, Namespace: "default"}
	cfg.CurrentContext = "cairn"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}

// etcdArgs runs a single-member etcd on loopback.
func etcdArgs(l layout, p ports) []string {
	client := fmt.Sprintf("http://127.0.0.1:%d", p.EtcdClient)
	peer := fmt.Sprintf("http://127.0.0.1:%d", p.EtcdPeer)
	return []string{
		"--name=cairn", "--data-dir=" + l.etcd(),
		"--listen-client-urls=" + client, "--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=cairn=" + peer, "--initial-cluster-state=new",
		"--listen-metrics-urls=", "--log-level=warn",
	}
}

// apiserverArgs serves the API on the bridge address only, with client
// certificates for authentication, Node+RBAC authorization and
// service-account tokens signed by the cluster's own key.
func apiserverArgs(l layout, p ports) []string {
	pki := func(f string) string { return filepath.Join(l.pki(), f) }
	return []string{
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", p.EtcdClient),
		"--bind-address=" + bridgeIP, "--advertise-address=" + bridgeIP,
		fmt.Sprintf("--secure-port=%d", p.APIServer),
		"--cert-dir=" + l.pki(),
		"--tls-cert-file=" + pki("apiserver.crt"), "--tls-private-key-file=" + pki("apiserver.key"),
		"--client-ca-file=" + pki("ca.crt"),
		"--kubelet-client-certificate=" + pki("apiserver-kubelet-client.crt"),
		"--kubelet-client-key=" + pki("apiserver-kubelet-client.key"),
		"--kubelet-certificate-authority=" + pki("ca.crt"),
		"--kubelet-preferred-address-types=InternalIP,Hostname",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + pki("sa.pub"),
		"--service-account-signing-key-file=" + pki("sa.key"),
		"--service-cluster-ip-range=" + ServiceCIDR,
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--allow-privileged=true",
		"--profiling=false",
		"--v=1",
	}
}

// controllerManagerArgs runs all default controllers (job, cronjob, garbage
// collector, PV binder, namespace, service account and its tokens, node
// lifecycle, root CA publisher, deployments, ...) with per-controller
// service-account credentials, as a real cluster does.
func controllerManagerArgs(l layout) []string {
	pki := func(f string) string { return filepath.Join(l.pki(), f) }
	kc := filepath.Join(l.config(), "controller-manager.kubeconfig")
	return []string{
		"--kubeconfig=" + kc, "--authentication-kubeconfig=" + kc, "--authorization-kubeconfig=" + kc,
		"--controllers=*", "--use-service-account-credentials=true",
		"--service-account-private-key-file=" + pki("sa.key"),
		"--root-ca-file=" + pki("ca.crt"),
		"--cluster-signing-cert-file=" + pki("ca.crt"), "--cluster-signing-key-file=" + pki("ca.key"),
		"--service-cluster-ip-range=" + ServiceCIDR,
		"--leader-elect=false", "--secure-port=0",
		"--node-monitor-grace-period=20s",
		"--profiling=false", "--v=1",
	}
}

// schedulerArgs runs the default scheduler without leader election.
func schedulerArgs(l layout) []string {
	kc := filepath.Join(l.config(), "scheduler.kubeconfig")
	return []string{
		"--kubeconfig=" + kc, "--authentication-kubeconfig=" + kc, "--authorization-kubeconfig=" + kc,
		"--leader-elect=false", "--secure-port=0", "--profiling=false", "--v=1",
	}
}
