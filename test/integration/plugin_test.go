//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/snapshots"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/status"
	"github.com/cairnbackup/cairn/pkg/labels"
	"github.com/cairnbackup/cairn/test/cluster"
)

// TestKubectlPlugin runs the built `kubectl-cairn` binary against the
// operator as deployed, through a user's whole day: back up now, read the
// status table and the snapshots, damage the data, restore latest into the
// Deployment, download the snapshot to this machine (compared with the
// application's own checksums of every file), read a session's logs,
// pause and resume, and get clear errors for bad input.
func TestKubectlPlugin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	e := newConfigEnv(ctx, t)
	e.startWebBackups(ctx, t)
	p := newPlugin(ctx, t, e)

	// Back up now, and wait for it.
	out := p.run(ctx, t, "trigger", "web", "--wait")
	m := regexp.MustCompile(`backupsession ` + e.ns + `/(web-nightly-\d+) created`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("trigger printed %q", out)
	}
	session := m[1]
	bs, err := e.cairn.CoreV1alpha1().BackupSessions(e.ns).Get(ctx, session, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if bs.Status.Phase != corev1alpha1.BackupSessionSucceeded || bs.Labels[labels.Config] != "web" || bs.Labels[labels.Session] != "nightly" ||
		bs.Spec.Invoker.Kind != "BackupConfiguration" || bs.Spec.Invoker.Name != "web" || bs.Spec.Session != "nightly" {
		t.Fatalf("the triggered BackupSession is not the CronJob's: %+v %+v", bs.Labels, bs.Spec)
	}

	// The status table, and the same as JSON.
	table := p.run(ctx, t, "status")
	for _, want := range []string{"CONFIG", "LAST SUCCESS", "NEXT RUN", "REPOSITORY SIZE", "web", "Ready", session, "Succeeded"} {
		if !strings.Contains(table, want) {
			t.Errorf("status table lacks %q:\n%s", want, table)
		}
	}
	var rows []status.Row
	p.runJSON(ctx, t, &rows, "status", "web", "-o", "json")
	if len(rows) != 1 || rows[0].LastBackup != session || rows[0].LastResult != "Succeeded" || rows[0].LastSuccess == nil ||
		rows[0].NextRun == nil || len(rows[0].Repositories) != 1 || rows[0].Repositories[0].Name != "web" {
		t.Fatalf("status -o json: %+v", rows)
	}

	// The snapshot the backup made.
	var snaps []snapshots.Row
	p.runJSON(ctx, t, &snaps, "snapshots", "web", "-o", "json")
	if len(snaps) != 1 || snaps[0].Phase != "Succeeded" || len(snaps[0].Components) != 1 || snaps[0].Components[0].SnapshotID == "" {
		t.Fatalf("snapshots -o json: %+v", snaps)
	}
	if table := p.run(ctx, t, "snapshots"); !strings.Contains(table, snaps[0].Name) || !strings.Contains(table, "dump") {
		t.Fatalf("snapshots table:\n%s", table)
	}

	// Damage the data and restore the latest snapshot into the Deployment.
	e.runAsApp(ctx, t, "damage", "rm /data/a /data/link && echo corrupted > /data/dir/sub/deep.txt && echo junk > /data/new")
	out = p.run(ctx, t, "restore", "latest", "--to", "deployment/web", "--name", "undo")
	if !strings.Contains(out, "Snapshot "+snaps[0].Name) || !strings.Contains(out, "restoresession "+e.ns+"/undo Succeeded") {
		t.Fatalf("restore printed:\n%s", out)
	}
	e.runAsApp(ctx, t, "verify", `set -e; cd /data; find . -type f ! -name .sums ! -name .mode ! -name .seeded ! -name new | sort | xargs md5sum > /tmp/now
diff /data/.sums /tmp/now; test "$(readlink /data/link)" = dir/sub/deep.txt`)

	// Download the snapshot to this machine, straight from MinIO.
	dir := filepath.Join(t.TempDir(), "download")
	out = p.run(ctx, t, "download", snaps[0].Name, "--to", dir)
	if !strings.Contains(out, "downloaded component dump") {
		t.Fatalf("download printed:\n%s", out)
	}
	downloadMatches(ctx, t, filepath.Join(dir, "data"))

	// The backup's logs, from its runner pod.
	if out := p.run(ctx, t, "logs", session); !strings.Contains(out, "==> pod/") || !strings.Contains(out, "container backup") {
		t.Fatalf("logs %s:\n%s", session, out)
	}

	// Pause refuses a trigger with the way out; resume undoes it.
	p.run(ctx, t, "pause", "web")
	if msg := p.fail(ctx, t, "trigger", "web"); !strings.Contains(msg, "paused") || !strings.Contains(msg, "kubectl cairn resume web") {
		t.Fatalf("trigger of a paused config: %s", msg)
	}
	if out := p.run(ctx, t, "resume", "web"); !strings.Contains(out, "resumed") {
		t.Fatalf("resume printed %q", out)
	}

	// Bad input is refused with what to do.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"restore", "latest", "--to", "pvc/missing"}, "does not exist"},
		{[]string{"restore", "latest", "--to", "pod/web"}, "KIND/NAME"},
		{[]string{"restore", "nosuch", "--to", "deployment/web"}, "kubectl cairn snapshots lists them"},
		{[]string{"trigger", "nosuch"}, "does not exist"},
		{[]string{"status", "-o", "xml"}, "-o json or -o yaml"},
		{[]string{"download", "latest"}, "--to DIR"},
	} {
		if msg := p.fail(ctx, t, c.args...); !strings.Contains(msg, c.want) {
			t.Errorf("kubectl cairn %s: %q lacks %q", strings.Join(c.args, " "), msg, c.want)
		}
	}
}

// plugin is the kubectl-cairn binary built from this checkout, run
// against the test's namespace with the cluster's kubeconfig.
type plugin struct {
	bin, kubeconfig, ns string
}

func newPlugin(ctx context.Context, t *testing.T, e *configEnv) *plugin {
	t.Helper()
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "kubectl-cairn")
	if err := cluster.GoBuild(ctx, root, "./cmd/kubectl-cairn", bin); err != nil {
		t.Fatal(err)
	}
	return &plugin{bin: bin, kubeconfig: e.c.Kubeconfig(), ns: e.ns}
}

func (p *plugin) exec(ctx context.Context, args ...string) (string, string, error) {
	cmd := exec.CommandContext(ctx, p.bin, append([]string{"--kubeconfig", p.kubeconfig, "-n", p.ns}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// run runs the plugin, fails the test unless it succeeds, and returns
// its stdout.
func (p *plugin) run(ctx context.Context, t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := p.exec(ctx, args...)
	if err != nil {
		t.Fatalf("kubectl cairn %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	t.Logf("kubectl cairn %s:\n%s", strings.Join(args, " "), out)
	return out
}

func (p *plugin) runJSON(ctx context.Context, t *testing.T, into any, args ...string) {
	t.Helper()
	if err := json.Unmarshal([]byte(p.run(ctx, t, args...)), into); err != nil {
		t.Fatalf("kubectl cairn %s: %v", strings.Join(args, " "), err)
	}
}

// fail runs the plugin, fails the test unless it exits 1, and returns
// its error message.
func (p *plugin) fail(ctx context.Context, t *testing.T, args ...string) string {
	t.Helper()
	_, errOut, err := p.exec(ctx, args...)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("kubectl cairn %s: want exit 1, got %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return errOut
}

// downloadMatches checks a download of the app's /data against the md5
// sums the app wrote of every file when it seeded it: the same set of
// files, each with the same bytes, and the symlink.
func downloadMatches(ctx context.Context, t *testing.T, dir string) {
	t.Helper()
	sums, err := os.ReadFile(filepath.Join(dir, ".sums"))
	if err != nil {
		t.Fatalf("the download has no data/.sums: %v", err)
	}
	check := exec.CommandContext(ctx, "md5sum", "-c", "--quiet", "-")
	check.Dir = dir
	check.Stdin = bytes.NewReader(sums)
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("the download differs from the app's data: %v\n%s", err, out)
	}
	var files []string
	err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, path)
			if rel != ".sums" && rel != ".mode" && rel != ".seeded" {
				files = append(files, "./"+rel)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(sums), "\n"); n != len(files) {
		t.Fatalf("the download holds %d files, the app wrote %d: %v", len(files), n, files)
	}
	if link, err := os.Readlink(filepath.Join(dir, "link")); err != nil || link != "dir/sub/deep.txt" {
		t.Fatalf("symlink in the download: %q, %v", link, err)
	}
}
