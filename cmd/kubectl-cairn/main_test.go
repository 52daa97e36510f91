package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run runs the plugin's command line in-process with no usable cluster
// (the checks below all fail before one is needed, or need none).
func run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	var out, errOut bytes.Buffer
	root := newRoot(&out, &errOut)
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func TestBadInputIsRefusedWithWhatToDo(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"trigger"}, "takes one BackupConfiguration name, got 0"},
		{[]string{"pause", "a", "b"}, "takes one BackupConfiguration name, got 2"},
		{[]string{"status", "-o", "wide"}, "use -o json or -o yaml"},
		{[]string{"restore", "latest"}, "restore needs --to KIND/NAME"},
		{[]string{"restore", "latest", "--to", "web"}, "want KIND/NAME"},
		{[]string{"download", "latest"}, "download needs --to DIR"},
		{[]string{"logs", "s", "-o", "json"}, "-o does not apply"},
		{[]string{"convert"}, "convert needs -f"},
		{[]string{"status", "--no-such-flag"}, "unknown flag: --no-such-flag (see 'kubectl cairn status --help')"},
		{[]string{"status"}, "pass --kubeconfig"},
	} {
		_, _, err := run(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("kubectl cairn %s: %v, want %q", strings.Join(c.args, " "), err, c.want)
		}
	}
}

func TestVersionAndCompletion(t *testing.T) {
	out, _, err := run(t, "version", "--client")
	if err != nil || !strings.HasPrefix(out, "kubectl-cairn ") {
		t.Fatalf("version: %q, %v", out, err)
	}
	out, _, err = run(t, "version", "--client", "-o", "json")
	if err != nil || !strings.Contains(out, `"goVersion"`) {
		t.Fatalf("version -o json: %q, %v", out, err)
	}
	for _, shell := range []string{"bash", "zsh"} {
		out, _, err := run(t, "completion", shell)
		if err != nil || !strings.Contains(out, "kubectl-cairn") || !strings.Contains(out, "__complete") {
			t.Fatalf("completion %s: %v\n%.200s", shell, err, out)
		}
	}
	// Flag values complete without a cluster.
	out, _, err = run(t, "__complete", "status", "-o", "")
	if err != nil || !strings.Contains(out, "json\nyaml\n") {
		t.Fatalf("completing -o: %q, %v", out, err)
	}
}

func TestConvertPrintsCairnYAML(t *testing.T) {
	in := filepath.Join(t.TempDir(), "kubestash.yaml")
	doc := `apiVersion: storage.kubestash.com/v1alpha1
kind: RetentionPolicy
metadata:
  name: keep
  namespace: demo
spec:
  maxRetentionPeriod: 30d
  successfulSnapshots:
    last: 5
`
	if err := os.WriteFile(in, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, "convert", "-f", in)
	if err != nil || !strings.Contains(out, "storage.cairn.dev/v1alpha1") || !strings.Contains(out, "kind: RetentionPolicy") {
		t.Fatalf("convert: %v\n%s", err, out)
	}
}
