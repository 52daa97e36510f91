package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	"github.com/cairnbackup/cairn/pkg/metrics"
)

// restConfig is the in-cluster config, or the kubeconfig file when given.
func restConfig(o *options) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if o.kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("loading the Kubernetes client config: %w (outside a cluster, pass --kubeconfig)", err)
	}
	cfg.QPS, cfg.Burst = o.qps, o.burst
	cfg.UserAgent = "cairn-operator"
	return cfg, nil
}

// runOperator connects, serves the probes and metrics, and runs the
// controllers (while leading, with leader election) until ctx ends.
func runOperator(ctx context.Context, o *options) error {
	cfg, err := restConfig(o)
	if err != nil {
		return err
	}
	reg := metrics.New()
	reg.RegisterWorkqueueMetrics()
	reg.RegisterClientMetrics()
	c := clients{config: cfg}
	if c.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	if c.cairn, err = cairnclient.NewForConfig(cfg); err != nil {
		return fmt.Errorf("cairn client: %w", err)
	}
	if c.meta, err = metadata.NewForConfig(cfg); err != nil {
		return fmt.Errorf("metadata client: %w", err)
	}
	p := &probes{}
	var elector *leaderelection.LeaderElector
	if o.leaderElect {
		p.leader = leaderelection.NewLeaderHealthzAdaptor(2 * o.renewDeadline)
	}
	startServers(ctx, o, reg, p)

	runControllers := func(ctx context.Context) {
		if err := startControllers(ctx, o, c, reg, &p.ready); err != nil {
			klog.FromContext(ctx).Error(err, "Controllers failed")
			os.Exit(1)
		}
	}
	if !o.leaderElect {
		runControllers(ctx)
		return nil
	}
	id, _ := os.Hostname()
	id = id + "_" + string(uuid.NewUUID())
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  leaseMeta(o),
		Client:     c.kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	var wg sync.WaitGroup
	elector, err = leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: lock, Name: o.leaseName,
		LeaseDuration: o.leaseDuration, RenewDeadline: o.renewDeadline, RetryPeriod: o.retryPeriod,
		ReleaseOnCancel: true,
		WatchDog:        p.leader,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				wg.Add(1)
				defer wg.Done()
				klog.FromContext(ctx).Info("Became leader", "identity", id)
				runControllers(ctx)
			},
			OnStoppedLeading: func() {
				klog.FromContext(ctx).Info("No longer the leader", "identity", id)
			},
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	// A standby is ready: it serves probes and takes over when the leader goes.
	p.ready.Store(true)
	elector.Run(ctx)
	wg.Wait()
	if ctx.Err() == nil {
		// Lost the Lease without being asked to stop: another replica may be
		// acting now, so this one must not go on. The Deployment restarts it.
		return fmt.Errorf("lost the leader Lease %s/%s", o.leaseNamespace, o.leaseName)
	}
	return nil
}

// waitShutdown bounds how long in-flight syncs may take after SIGTERM.
func waitShutdown(done <-chan struct{}, timeout time.Duration) error {
	select {
	case <-done:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("controllers did not stop within %s", timeout)
	}
}
