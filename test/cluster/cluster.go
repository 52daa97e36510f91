// Package cluster runs a real single-node Kubernetes cluster on this machine
// for Cairn's integration tests and demo: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, a kubelet with containerd and
// runc, and kube-proxy, all built from pinned sources (see hack/tools/k8s)
// and started as plain processes without Docker.
//
// Everything listens on 127.0.0.1 or on the pod bridge's own address
// (BridgeIP); pods and Services get addresses in 198.18.0.0/15 only. Stop (or
// `make cluster-down`) ends every process by pid and removes all state, and a
// new Start after a crash cleans up the leftovers first.
package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Cluster is a running local cluster.
type Cluster struct {
	state  *State
	opts   Options
	rest   *rest.Config
	client kubernetes.Interface
	dyn    dynamic.Interface
	// owned is true when this process started the cluster (and so Stop
	// ends it); false when it reuses one started by `make cluster-up`.
	owned bool
}

// Kubeconfig returns the path of the admin kubeconfig.
func (c *Cluster) Kubeconfig() string { return c.state.Kubeconfig }

// Dir returns the cluster's state directory.
func (c *Cluster) Dir() string { return c.state.Dir }

// RESTConfig returns a copy of the admin client configuration.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.rest) }

// Client returns an admin clientset.
func (c *Cluster) Client() kubernetes.Interface { return c.client }

// Dynamic returns an admin dynamic client (for CRDs).
func (c *Cluster) Dynamic() dynamic.Interface { return c.dyn }

// ImportImage loads an OCI/docker image tarball (as written by BuildImage)
// into the node's containerd, so pods can run it without a registry.
func (c *Cluster) ImportImage(ctx context.Context, tarPath string) error {
	b, err := findBinaries(c.opts.CacheDir)
	if err != nil {
		return err
	}
	return importImage(ctx, b.ctr, layout{dir: c.state.Dir}.socket(), tarPath)
}

// BuildAndImport builds img (see BuildImage) and imports it into the node.
func (c *Cluster) BuildAndImport(ctx context.Context, img Image) error {
	dir, err := os.MkdirTemp("", "cairn-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tarPath, err := BuildImage(ctx, dir, img)
	if err != nil {
		return err
	}
	return c.ImportImage(ctx, tarPath)
}

// Stop ends the cluster if this process started it; a cluster reused from
// `make cluster-up` is left running for the next test run.
func (c *Cluster) Stop() error {
	if c == nil || !c.owned {
		return nil
	}
	return Down(c.opts)
}

// Down ends the cluster in opts.Dir (whoever started it) and removes its
// state. It is what `make cluster-down` runs; with no cluster it only
// removes stray traces (iptables chains, the bridge), so it is always safe.
func Down(opts Options) error {
	opts = opts.withDefaults()
	st, err := loadState(layout{dir: opts.Dir}.stateFile())
	if err != nil {
		st = nil
	}
	if other := otherClusterDir(opts.Dir); other != "" {
		return fmt.Errorf("the running local cluster belongs to %s, not %s; stop it with `CAIRN_CLUSTER_DIR=%s make cluster-down`", other, opts.Dir, other)
	}
	logf := func(f string, a ...any) { fmt.Fprintf(opts.Log, f+"\n", a...) }
	return teardown(opts.Dir, st, logf)
}

// Attach connects to the running cluster recorded in opts.Dir. It fails
// when there is none or it does not answer.
func Attach(ctx context.Context, opts Options) (*Cluster, error) {
	opts = opts.withDefaults()
	st, err := loadState(layout{dir: opts.Dir}.stateFile())
	if err != nil {
		return nil, err
	}
	if !st.alive() {
		return nil, fmt.Errorf("no running cluster in %s: run `make cluster-up`", opts.Dir)
	}
	if st.KubeVersion != KubeVersion {
		return nil, fmt.Errorf("the cluster in %s runs Kubernetes %s, this checkout wants %s: run `make cluster-down cluster-up`", opts.Dir, st.KubeVersion, KubeVersion)
	}
	c := &Cluster{state: st, opts: opts}
	if err := c.connect(); err != nil {
		return nil, err
	}
	if err := c.healthy(ctx); err != nil {
		return nil, fmt.Errorf("the cluster in %s does not answer (%v): run `make cluster-down cluster-up`", opts.Dir, err)
	}
	return c, nil
}

// connect builds the clients from the admin kubeconfig.
func (c *Cluster) connect() error {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.state.Kubeconfig)
	if err != nil {
		return fmt.Errorf("load kubeconfig %s: %w", c.state.Kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	if c.client, err = kubernetes.NewForConfig(cfg); err != nil {
		return err
	}
	if c.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		return err
	}
	c.rest = cfg
	return nil
}

// healthy asks the API server's /readyz.
func (c *Cluster) healthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := c.client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	return err
}

// logsDir is where component logs go. It sits next to the state directory,
// not in it, so the logs of the last run survive tear-down for debugging.
func logsDir(dir string) string { return filepath.Clean(dir) + "-logs" }
