package kubeflags

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: "https://a.example:6443"}
- name: b
  cluster: {server: "https://b.example:6443"}
users:
- name: u
  user: {token: t}
contexts:
- name: a
  context: {cluster: a, user: u, namespace: team-a}
- name: b
  context: {cluster: b, user: u}
current-context: a
`

func parse(t *testing.T, args ...string) *Flags {
	t.Helper()
	f := New()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	f.Bind(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFlagsSelectClusterAndNamespaceAsKubectlDoes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", "")
	for _, c := range []struct {
		args       []string
		server, ns string
	}{
		{[]string{"--kubeconfig", path}, "https://a.example:6443", "team-a"},
		{[]string{"--kubeconfig", path, "-n", "prod"}, "https://a.example:6443", "prod"},
		{[]string{"--kubeconfig", path, "--context", "b"}, "https://b.example:6443", "default"},
		{[]string{"--kubeconfig", path, "--context=b", "--namespace=x", "--server", "https://c.example"}, "https://c.example", "x"},
	} {
		f := parse(t, c.args...)
		cfg, err := f.RESTConfig()
		if err != nil {
			t.Fatal(err)
		}
		ns, err := f.Namespace()
		if err != nil || cfg.Host != c.server || ns != c.ns || cfg.UserAgent != "kubectl-cairn" {
			t.Errorf("%v: host %s, ns %s, %v", c.args, cfg.Host, ns, err)
		}
		if cl, err := f.Clients(); err != nil || cl.Namespace != c.ns {
			t.Errorf("%v: clients %v", c.args, err)
		}
	}
	_, err := parse(t, "--kubeconfig", filepath.Join(t.TempDir(), "missing")).RESTConfig()
	if err == nil || !strings.Contains(err.Error(), "pass --kubeconfig") {
		t.Fatalf("missing kubeconfig: %v", err)
	}
}
