package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/test/internal/proc"
)

// Start brings up a fresh cluster in opts.Dir and returns when a pod can be
// scheduled and run: the node is Ready, kube-proxy serves the `kubernetes`
// Service, and the default service account exists. Leftovers of an earlier
// cluster that crashed are cleaned up first; a cluster that is still running
// and healthy is an error (use Attach or Shared to reuse it).
func Start(ctx context.Context, opts Options) (c *Cluster, err error) {
	opts = opts.withDefaults()
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("the local cluster needs root (kubelet, containerd, bridge, iptables); run the tests as root")
	}
	b, err := findBinaries(opts.CacheDir)
	if err != nil {
		return nil, err
	}
	l := layout{dir: opts.Dir}
	logf := func(f string, a ...any) { fmt.Fprintf(opts.Log, "cluster: "+f+"\n", a...) }
	if err := recoverLeftovers(ctx, opts, logf); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	st := &State{KubeVersion: KubeVersion, Dir: opts.Dir, Kubeconfig: l.adminKubeconfig(), StartedAt: time.Now()}
	s := &starter{opts: opts, l: l, b: b, st: st, logf: logf}
	defer func() {
		if err != nil {
			logf("start failed, tearing down: %v", err)
			if derr := teardown(opts.Dir, st, logf); derr != nil {
				logf("tear-down after failed start: %v", derr)
			}
			err = fmt.Errorf("%w (component logs: %s)", err, l.logs())
		}
	}()
	if err := s.prepare(); err != nil {
		return nil, err
	}
	if err := s.controlPlane(ctx); err != nil {
		return nil, err
	}
	if err := s.node(ctx); err != nil {
		return nil, err
	}
	if err := s.installAddons(ctx); err != nil {
		return nil, err
	}
	st.Ready = true
	if err := st.save(l.stateFile()); err != nil {
		return nil, err
	}
	logf("ready in %s: export KUBECONFIG=%s", time.Since(st.StartedAt).Round(time.Second), st.Kubeconfig)
	s.c.owned = true
	return s.c, nil
}

// recoverLeftovers refuses to start over a healthy running cluster and
// cleans up anything left by one that crashed or was killed.
func recoverLeftovers(ctx context.Context, opts Options, logf func(string, ...any)) error {
	l := layout{dir: opts.Dir}
	st, err := loadState(l.stateFile())
	if err != nil {
		logf("%v; cleaning up", err)
		st = nil
	}
	if st.alive() {
		if _, aerr := Attach(ctx, opts); aerr == nil {
			return fmt.Errorf("a cluster is already running in %s: reuse it (cluster.Attach/Shared) or run `make cluster-down` first", opts.Dir)
		}
	}
	_, dirErr := os.Stat(opts.Dir)
	_, bridgeErr := os.Stat("/sys/class/net/" + BridgeName)
	if st == nil && os.IsNotExist(dirErr) && bridgeErr != nil {
		return nil
	}
	if other := otherClusterDir(opts.Dir); other != "" {
		return fmt.Errorf("another local cluster runs from %s; only one fits on a machine (bridge %s, kubelet, iptables): stop it with `CAIRN_CLUSTER_DIR=%s make cluster-down` or use that directory", other, BridgeName, other)
	}
	logf("cleaning up leftovers of an earlier cluster in %s", opts.Dir)
	if err := teardown(opts.Dir, st, logf); err != nil {
		return fmt.Errorf("cannot clean up the earlier cluster: %w", err)
	}
	return nil
}

// starter carries the state of one Start call through its steps.
type starter struct {
	opts  Options
	l     layout
	b     binaries
	st    *State
	c     *Cluster
	procs []*proc.Proc
	logf  func(string, ...any)
}

// prepare creates the directories, the bridge, certificates and configs.
func (s *starter) prepare() error {
	for _, d := range []string{s.l.pki(), s.l.config(), s.l.etcd(), s.l.kubelet(), s.l.containerd(), s.l.cni(), s.l.path("images")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	_ = os.RemoveAll(s.l.logs())
	if err := os.MkdirAll(s.l.logs(), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", s.l.logs(), err)
	}
	if err := ensureBridge(s.b.ip); err != nil {
		return err
	}
	p, err := pickPorts()
	if err != nil {
		return err
	}
	s.st.Ports = p
	s.st.Server = "https://" + bridgeIP + ":" + strconv.Itoa(p.APIServer)
	if err := writePKI(s.l, p); err != nil {
		return err
	}
	return writeNodeConfigs(s.l, s.b, p, s.opts.MaxPods)
}

// run starts one component and records it in the state file at once, so
// that even a crash right after leaves a trace that recovery can follow.
func (s *starter) run(name, bin string, args []string) (*proc.Proc, error) {
	p, err := proc.Start(name, append([]string{bin}, args...), proc.Options{LogDir: s.l.logs(), Detach: true})
	if err != nil {
		return nil, err
	}
	s.procs = append(s.procs, p)
	s.st.Procs = append(s.st.Procs, *p)
	if err := s.st.save(s.l.stateFile()); err != nil {
		return nil, err
	}
	s.logf("started %s (pid %d)", name, p.Pid)
	return p, nil
}

// controlPlane starts etcd, the API server, the controller manager and the
// scheduler, waiting for each to serve before the next depends on it.
func (s *starter) controlPlane(ctx context.Context) error {
	etcd, err := s.run("etcd", s.b.etcd, etcdArgs(s.l, s.st.Ports))
	if err != nil {
		return err
	}
	health := fmt.Sprintf("http://127.0.0.1:%d/health", s.st.Ports.EtcdClient)
	if err := waitFor(ctx, time.Minute, "etcd to serve on "+health, []*proc.Proc{etcd}, httpOK(health)); err != nil {
		return err
	}
	api, err := s.run("kube-apiserver", s.b.apiserver, apiserverArgs(s.l, s.st.Ports))
	if err != nil {
		return err
	}
	s.c = &Cluster{state: s.st, opts: s.opts}
	if err := s.c.connect(); err != nil {
		return err
	}
	if err := waitFor(ctx, 2*time.Minute, "kube-apiserver /readyz on "+s.st.Server, []*proc.Proc{etcd, api}, func(ctx context.Context) (bool, string) {
		if err := s.c.healthy(ctx); err != nil {
			return false, err.Error()
		}
		return true, ""
	}); err != nil {
		return err
	}
	if _, err := s.run("kube-controller-manager", s.b.controllerManager, controllerManagerArgs(s.l)); err != nil {
		return err
	}
	_, err = s.run("kube-scheduler", s.b.scheduler, schedulerArgs(s.l))
	return err
}

// httpOK is a wait check that a plain-HTTP URL answers 200.
func httpOK(url string) func(context.Context) (bool, string) {
	check := proc.HTTPCheck(url)
	return func(ctx context.Context) (bool, string) {
		done, state, _ := check(ctx)
		return done, state
	}
}

// node starts containerd (with the pause image imported), the kubelet and
// kube-proxy, then waits until pods can run: node Ready without taints,
// kube-proxy healthy, and the default service account present.
func (s *starter) node(ctx context.Context) error {
	imgDir := s.l.path("images")
	pause, err := buildPauseImage(ctx, imgDir)
	if err != nil {
		return err
	}
	busybox, err := buildBusyboxImage(ctx, imgDir)
	if err != nil {
		return err
	}
	cd, err := s.run("containerd", s.b.containerd, []string{"--config", filepath.Join(s.l.config(), "containerd.toml")})
	if err != nil {
		return err
	}
	if err := waitFor(ctx, time.Minute, "containerd socket "+s.l.socket(), []*proc.Proc{cd}, func(context.Context) (bool, string) {
		_, err := os.Stat(s.l.socket())
		return err == nil, fmt.Sprint(err)
	}); err != nil {
		return err
	}
	for _, img := range []string{pause, busybox} {
		if err := importImage(ctx, s.b.ctr, s.l.socket(), img); err != nil {
			return err
		}
	}
	kubelet, err := s.run("kubelet", s.b.kubelet, kubeletArgs(s.l))
	if err != nil {
		return err
	}
	proxy, err := s.run("kube-proxy", s.b.proxy, []string{"--config=" + filepath.Join(s.l.config(), "kube-proxy.yaml"), "--v=1"})
	if err != nil {
		return err
	}
	watch := []*proc.Proc{cd, kubelet, proxy}
	if err := waitFor(ctx, 2*time.Minute, "node "+NodeName+" to be Ready without taints", watch, s.nodeReady); err != nil {
		return err
	}
	hz := fmt.Sprintf("http://127.0.0.1:%d/healthz", s.st.Ports.ProxyHZ)
	if err := waitFor(ctx, time.Minute, "kube-proxy "+hz, watch, httpOK(hz)); err != nil {
		return err
	}
	return waitFor(ctx, time.Minute, "the default service account and kube-root-ca.crt in namespace default", watch, func(ctx context.Context) (bool, string) {
		if _, err := s.c.client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err != nil {
			return false, err.Error()
		}
		if _, err := s.c.client.CoreV1().ConfigMaps("default").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{}); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
}

// nodeReady is a wait check for the node's Ready condition and no taints.
func (s *starter) nodeReady(ctx context.Context) (bool, string) {
	n, err := s.c.client.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, "node not registered yet"
	}
	if err != nil {
		return false, err.Error()
	}
	ready := false
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			if cond.Status != corev1.ConditionTrue {
				return false, fmt.Sprintf("Ready=%s: %s", cond.Status, cond.Message)
			}
			ready = true
		}
	}
	if !ready {
		return false, "node has no Ready condition yet"
	}
	if len(n.Spec.Taints) > 0 {
		return false, fmt.Sprintf("taints %v", n.Spec.Taints)
	}
	return true, ""
}

// installAddons deploys the storage add-ons unless disabled.
func (s *starter) installAddons(ctx context.Context) error {
	if s.opts.NoAddons {
		return nil
	}
	return installAddons(ctx, s.c, s.logf)
}
