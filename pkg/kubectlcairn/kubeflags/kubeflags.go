// Package kubeflags gives `kubectl cairn` the connection flags every kubectl
// user already knows (--kubeconfig, --context, -n/--namespace, --cluster,
// --user, --server, --token, --as...) with kubectl's own meaning, through
// client-go's clientcmd: the same loading rules ($KUBECONFIG, then
// ~/.kube/config) and the same overrides kubectl applies, so a plugin
// invoked as `kubectl cairn -n prod status` talks to exactly the cluster
// and namespace `kubectl -n prod get pods` would.
package kubeflags

import (
	"fmt"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
)

// Flags holds the connection flags' values once bound to a flag set.
type Flags struct {
	loading   *clientcmd.ClientConfigLoadingRules
	overrides clientcmd.ConfigOverrides
	config    clientcmd.ClientConfig
}

// New returns Flags with kubectl's default loading rules.
func New() *Flags {
	return &Flags{loading: clientcmd.NewDefaultClientConfigLoadingRules()}
}

// Bind adds the flags to fs (a command's persistent flags, so that they
// may come before or after the subcommand, as with kubectl).
func (f *Flags) Bind(fs *pflag.FlagSet) {
	fs.StringVar(&f.loading.ExplicitPath, clientcmd.RecommendedConfigPathFlag, "", "path of the kubeconfig file (default $KUBECONFIG, else ~/.kube/config)")
	clientcmd.BindOverrideFlags(&f.overrides, fs, clientcmd.RecommendedConfigOverrideFlags(""))
}

func (f *Flags) clientConfig() clientcmd.ClientConfig {
	if f.config == nil {
		f.config = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(f.loading, &f.overrides)
	}
	return f.config
}

// Namespace is -n, else the current context's namespace, else "default".
func (f *Flags) Namespace() (string, error) {
	ns, _, err := f.clientConfig().Namespace()
	if err != nil {
		return "", noConfig(err)
	}
	return ns, nil
}

// RESTConfig is the configuration of the selected cluster and user. A
// missing or unusable kubeconfig is an error that says what to pass.
func (f *Flags) RESTConfig() (*rest.Config, error) {
	cfg, err := f.clientConfig().ClientConfig()
	if err != nil {
		return nil, noConfig(err)
	}
	cfg.UserAgent = "kubectl-cairn"
	return cfg, nil
}

// noConfig says what to do when the kubeconfig cannot be used.
func noConfig(err error) error {
	return fmt.Errorf("no usable kubeconfig (%w): pass --kubeconfig, set $KUBECONFIG or create ~/.kube/config", err)
}

// Clients are the API clients a command uses and its namespace.
type Clients struct {
	// Kube reads Secrets, Pods and their logs.
	Kube kubernetes.Interface
	// Cairn reads and writes Cairn's objects.
	Cairn cairnclient.Interface
	// Namespace is the namespace the command works in.
	Namespace string
}

// Clients connects to the selected cluster.
func (f *Flags) Clients() (*Clients, error) {
	ns, err := f.Namespace()
	if err != nil {
		return nil, err
	}
	cfg, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	cairn, err := cairnclient.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the Cairn client: %w", err)
	}
	return &Clients{Kube: kube, Cairn: cairn, Namespace: ns}, nil
}
