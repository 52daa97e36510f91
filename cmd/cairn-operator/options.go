package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"
)

// options are the operator's command-line settings.
type options struct {
	kubeconfig string
	namespace  string
	workers    int
	qps        float32
	burst      int

	metricsAddr string
	healthAddr  string
	profiling   bool

	leaderElect    bool
	leaseName      string
	leaseNamespace string
	leaseDuration  time.Duration
	renewDeadline  time.Duration
	retryPeriod    time.Duration

	runnerImage  string
	resync       time.Duration
	showVersion  bool
	shutdownWait time.Duration
}

// parseOptions reads the flags; the lease namespace defaults to the pod's
// own namespace (POD_NAMESPACE, set by the Deployment).
func parseOptions(args []string) (*options, *pflag.FlagSet, error) {
	o := &options{}
	fs := pflag.NewFlagSet("cairn-operator", pflag.ContinueOnError)
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file; empty means the in-cluster config (the pod's ServiceAccount)")
	fs.StringVar(&o.namespace, "namespace", "", "watch only this namespace; empty watches all namespaces")
	fs.IntVar(&o.workers, "workers", 32, "concurrent syncs per kind (each kind has its own queue); a sync mostly waits on the API server or a store, so workers are cheap")
	fs.Float32Var(&o.qps, "kube-api-qps", 200, "steady requests per second to the API server")
	fs.IntVar(&o.burst, "kube-api-burst", 400, "request burst to the API server")
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "address that serves /metrics; empty disables it")
	fs.StringVar(&o.healthAddr, "health-probe-bind-address", ":8081", "address that serves /healthz and /readyz")
	fs.BoolVar(&o.profiling, "profiling", os.Getenv("CAIRN_PROFILING") == "true", "also serve Go's profiles (/debug/pprof/) on the metrics address, or the health address without one; off by default (CAIRN_PROFILING=true turns it on)")
	fs.BoolVar(&o.leaderElect, "leader-elect", true, "run the controllers only while holding the leader Lease (for more than one replica)")
	fs.StringVar(&o.leaseName, "leader-election-id", "cairn-operator", "name of the leader Lease")
	fs.StringVar(&o.leaseNamespace, "leader-election-namespace", os.Getenv("POD_NAMESPACE"), "namespace of the leader Lease (default: the pod's namespace)")
	fs.DurationVar(&o.leaseDuration, "leader-election-lease-duration", 15*time.Second, "how long a standby waits before taking over an unrenewed Lease")
	fs.DurationVar(&o.renewDeadline, "leader-election-renew-deadline", 10*time.Second, "how long the leader keeps trying to renew before it gives up leading")
	fs.DurationVar(&o.retryPeriod, "leader-election-retry-period", 2*time.Second, "interval between Lease attempts")
	fs.StringVar(&o.runnerImage, "runner-image", os.Getenv("CAIRN_RUNNER_IMAGE"), "image of the Jobs the operator creates (cairn runner); the manifests set it to the operator's own image")
	fs.DurationVar(&o.resync, "resync-period", 10*time.Hour, "informer resync period (a safety net; every change is watched)")
	fs.DurationVar(&o.shutdownWait, "shutdown-timeout", 20*time.Second, "how long in-flight syncs may run after SIGTERM")
	fs.BoolVar(&o.showVersion, "version", false, "print the version and exit")
	fs.AddGoFlagSet(flag.CommandLine) // klog's -v, --vmodule, --logging-format...
	if err := fs.Parse(args); err != nil {
		return nil, fs, err
	}
	if err := o.validate(); err != nil {
		return nil, fs, err
	}
	return o, fs, nil
}

func (o *options) validate() error {
	switch {
	case o.showVersion:
		return nil
	case o.workers < 1:
		return fmt.Errorf("--workers must be at least 1, got %d", o.workers)
	case o.qps <= 0 || o.burst < 1:
		return fmt.Errorf("--kube-api-qps must be positive and --kube-api-burst at least 1")
	case o.leaderElect && o.leaseNamespace == "":
		return fmt.Errorf("--leader-election-namespace is empty: set it, or POD_NAMESPACE (the Deployment sets it from the downward API)")
	case o.leaderElect && !(o.leaseDuration > o.renewDeadline && o.renewDeadline > o.retryPeriod):
		return fmt.Errorf("leader election needs lease-duration > renew-deadline > retry-period")
	case o.runnerImage == "":
		return fmt.Errorf("--runner-image is empty: set it (or CAIRN_RUNNER_IMAGE) to the cairn image, normally the operator's own")
	}
	return nil
}
