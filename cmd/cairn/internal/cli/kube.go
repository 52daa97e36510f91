package cli

import (
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// RESTConfig is how the commands that talk to a cluster (trigger, backup,
// restore) reach it: the pod's ServiceAccount in a Job, unless a kubeconfig
// is given; outside a pod $KUBECONFIG or ~/.kube/config. Having none is a
// usage error that says so.
func RESTConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		if cfg, err := rest.InClusterConfig(); err == nil {
			return cfg, nil
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		return nil, Usagef("no Kubernetes credentials: not in a pod and no usable kubeconfig (%v); pass --kubeconfig", err)
	}
	return cfg, nil
}
