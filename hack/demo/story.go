package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	"github.com/cairnbackup/cairn/test/cluster"
	"github.com/cairnbackup/cairn/test/objstore"
)

// story is act one: Cairn's main job, told with the operator as `make
// deploy` installed it and the `kubectl cairn` plugin a user types.
type story struct {
	c        *cluster.Cluster
	cairn    cairnclient.Interface
	kubectl  string // the pinned kubectl
	pathEnv  string // PATH with the plugin's directory first
	work     string
	minio    *objstore.Server
	password string
	// keepWork says the work directory outlives the demo (-work).
	keepWork bool
	// session is the BackupSession the trigger created.
	session string
}

// run tells the story; every step is checked, not only printed.
func (s *story) run(ctx context.Context) error {
	if err := s.operatorRuns(ctx); err != nil {
		return err
	}
	if err := s.freshNamespace(ctx); err != nil {
		return err
	}
	step("Deploying a sample app (Deployment notes, uid 1000) that writes its data into PVC notes-data")
	if err := s.apply(ctx, appManifest()); err != nil {
		return err
	}
	if err := s.sh(ctx, "kubectl", "-n", demoNamespace, "rollout", "status", "deployment/notes", "--timeout=180s"); err != nil {
		return err
	}
	if err := s.waitFile(ctx, "/data/.sums"); err != nil {
		return err
	}
	if err := s.sh(ctx, "kubectl", "-n", demoNamespace, "exec", "deploy/notes", "--", "sh", "-c", "cd /data && du -sh . && find . -type f | wc -l"); err != nil {
		return err
	}

	step("Creating a BackupStorage (the MinIO bucket), a RetentionPolicy and a BackupConfiguration")
	if err := s.apply(ctx, secretsManifest(s.minio, s.password)); err != nil {
		return err
	}
	manifest := backupManifest(s.minio)
	for _, line := range strings.Split(strings.TrimSpace(manifest), "\n") {
		fmt.Println("      | " + line)
	}
	if err := s.apply(ctx, manifest); err != nil {
		return err
	}
	if err := s.waitConfigReady(ctx, "notes"); err != nil {
		return err
	}
	if err := s.sh(ctx, "kubectl", "get", "backupstorage,repository,backupconfiguration", "-n", demoNamespace); err != nil {
		return err
	}

	step("Backing up now with the kubectl plugin (the same BackupSession the nightly CronJob creates)")
	if err := s.sh(ctx, "kubectl", "cairn", "-n", demoNamespace, "trigger", "notes", "--wait"); err != nil {
		return err
	}
	s.session = "<backupsession>"
	if list, err := s.cairn.CoreV1alpha1().BackupSessions(demoNamespace).List(ctx, metav1.ListOptions{}); err == nil && len(list.Items) > 0 {
		s.session = list.Items[0].Name
	}
	if err := s.sh(ctx, "kubectl", "cairn", "-n", demoNamespace, "status"); err != nil {
		return err
	}
	if err := s.sh(ctx, "kubectl", "cairn", "-n", demoNamespace, "snapshots"); err != nil {
		return err
	}

	step("Damaging the data: a note deleted, one overwritten, the photo truncated, the symlink gone")
	damage := "rm /data/notes/2026/note-7.txt /data/latest-note && echo oops > /data/notes/2026/note-8.txt && truncate -s 1000 /data/attachments/photo.bin"
	if err := s.sh(ctx, "kubectl", "-n", demoNamespace, "exec", "deploy/notes", "--", "sh", "-c", damage); err != nil {
		return err
	}
	if err := s.verifyInCluster(ctx); err == nil {
		return fmt.Errorf("the damaged data still matched its checksums: the damage step did nothing")
	}
	fmt.Println("    the checksums no longer match, as expected")

	step("Restoring the latest snapshot into the Deployment with a RestoreSession (kubectl cairn restore)")
	if err := s.sh(ctx, "kubectl", "cairn", "-n", demoNamespace, "restore", "latest", "--to", "deployment/notes"); err != nil {
		return err
	}

	step("Verifying the restored data byte for byte: every file's SHA-256 as the app recorded it, and the symlink")
	if err := s.verifyInCluster(ctx); err != nil {
		return fmt.Errorf("the restored data differs from what the app wrote: %w", err)
	}
	fmt.Println("    every file matches its recorded SHA-256; the symlink is back")

	step("Downloading the snapshot to this machine, straight from the bucket (kubectl cairn download)")
	dir := filepath.Join(s.work, "notes-download")
	if err := s.sh(ctx, "kubectl", "cairn", "-n", demoNamespace, "download", "latest", "--to", dir); err != nil {
		return err
	}
	n, err := verifyTree(filepath.Join(dir, "data"))
	if err != nil {
		return fmt.Errorf("the download differs from what the app wrote: %w", err)
	}
	fmt.Printf("    %d files in %s match their recorded SHA-256, and the symlink is there\n", n, filepath.Join(dir, "data"))
	return nil
}

// operatorRuns checks that `make deploy` left a running operator.
func (s *story) operatorRuns(ctx context.Context) error {
	step("Checking the operator that make deploy installed")
	d, err := s.c.Client().AppsV1().Deployments("cairn-system").Get(ctx, "cairn-operator", metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("the operator is not installed (%v): run make deploy", err)
	}
	if d.Status.AvailableReplicas < 1 {
		return fmt.Errorf("the operator Deployment cairn-system/cairn-operator has no available replica: kubectl -n cairn-system describe deploy cairn-operator")
	}
	return s.sh(ctx, "kubectl", "cairn", "version")
}

// freshNamespace deletes the namespace a previous run left (its storage
// pointed at that run's MinIO) and creates it again.
func (s *story) freshNamespace(ctx context.Context) error {
	step("Creating namespace %s (removing the one a previous run left)", demoNamespace)
	nss := s.c.Client().CoreV1().Namespaces()
	if err := nss.Delete(ctx, demoNamespace, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting namespace %s: %w", demoNamespace, err)
	}
	err := wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := nss.Get(ctx, demoNamespace, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		return fmt.Errorf("namespace %s from a previous run is still being deleted after 3 minutes: kubectl get all,cairn -n %s shows what holds it", demoNamespace, demoNamespace)
	}
	if _, err := nss.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: demoNamespace}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating namespace %s: %w", demoNamespace, err)
	}
	return s.c.WaitNamespaceReady(ctx, demoNamespace)
}

// waitFile waits until the app wrote path.
func (s *story) waitFile(ctx context.Context, path string) error {
	err := wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		return s.quiet(ctx, "kubectl", "-n", demoNamespace, "exec", "deploy/notes", "--", "test", "-f", path) == nil, nil
	})
	if err != nil {
		return fmt.Errorf("the app did not write %s within 2 minutes: kubectl -n %s logs deploy/notes", path, demoNamespace)
	}
	return nil
}

func (s *story) waitConfigReady(ctx context.Context, name string) error {
	var phase, why string
	err := wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		bc, err := s.cairn.CoreV1alpha1().BackupConfigurations(demoNamespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		phase, why = string(bc.Status.Phase), ""
		for _, c := range bc.Status.Conditions {
			if c.Status == metav1.ConditionFalse {
				why += " " + c.Message
			}
		}
		return bc.Status.Phase == "Ready", nil
	})
	if err != nil {
		return fmt.Errorf("BackupConfiguration %s is %q, not Ready, after 2 minutes:%s", name, phase, why)
	}
	fmt.Printf("    BackupConfiguration %s is Ready: its Repository is initialised in the bucket and its CronJob scheduled\n", name)
	return nil
}

// verifyInCluster checks the app's data against its recorded checksums
// in the app's own pod: every recorded file with its SHA-256, no file
// more, the symlink.
func (s *story) verifyInCluster(ctx context.Context) error {
	script := `set -e; cd /data; sha256sum -c -s .sums; test "$(find . -type f ! -name .sums | wc -l)" = "$(wc -l < .sums)"; test "$(readlink latest-note)" = notes/2026/note-1.txt`
	return s.quiet(ctx, "kubectl", "-n", demoNamespace, "exec", "deploy/notes", "--", "sh", "-c", script)
}

// verifyTree checks a downloaded tree as verifyInCluster does, on this
// machine, and returns the number of files checked.
func verifyTree(dir string) (int, error) {
	sums, err := os.ReadFile(filepath.Join(dir, ".sums"))
	if err != nil {
		return 0, err
	}
	want := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			return 0, fmt.Errorf(".sums line %q", line)
		}
		want[filepath.Clean(name)] = sum
	}
	var got []string
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == ".sums" {
			return nil
		}
		got = append(got, rel)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		if w, ok := want[rel]; !ok || w != hex.EncodeToString(h.Sum(nil)) {
			return fmt.Errorf("%s: not the bytes the app wrote", rel)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if len(got) != len(want) {
		sort.Strings(got)
		return 0, fmt.Errorf("%d files, the app wrote %d: %v", len(got), len(want), got)
	}
	if l, err := os.Readlink(filepath.Join(dir, "latest-note")); err != nil || l != "notes/2026/note-1.txt" {
		return 0, fmt.Errorf("symlink latest-note: %q, %v", l, err)
	}
	return len(got), nil
}

// apply pipes manifest into kubectl apply in the demo namespace.
func (s *story) apply(ctx context.Context, manifest string) error {
	cmd := s.command(ctx, "kubectl", "apply", "-n", demoNamespace, "-f", "-")
	cmd.Stdin = strings.NewReader(manifest)
	fmt.Printf("    $ kubectl apply -n %s -f -\n", demoNamespace)
	cmd.Stdout, cmd.Stderr = indent(os.Stdout), indent(os.Stderr)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kubectl apply: %w", err)
	}
	return nil
}

// sh shows and runs a command (kubectl is the pinned one; `kubectl cairn`
// finds the plugin on PATH, as it would for a user).
func (s *story) sh(ctx context.Context, args ...string) error {
	fmt.Printf("    $ %s\n", strings.Join(args, " "))
	cmd := s.command(ctx, args...)
	cmd.Stdout, cmd.Stderr = indent(os.Stdout), indent(os.Stderr)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// quiet runs a command without showing it or its output.
func (s *story) quiet(ctx context.Context, args ...string) error {
	return s.command(ctx, args...).Run()
}

func (s *story) command(ctx context.Context, args ...string) *exec.Cmd {
	bin := args[0]
	if bin == "kubectl" {
		bin = s.kubectl
	}
	cmd := exec.CommandContext(ctx, bin, args[1:]...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+s.c.Kubeconfig(), "PATH="+s.pathEnv)
	return cmd
}

// summary prints what happened and what to type next.
func (s *story) summary(took time.Duration) {
	step("Done in %s. What happened, and what to try next", took.Round(time.Second))
	fmt.Printf(`    The operator backed up the Deployment's volume into MinIO (encrypted, deduplicated),
    restored it after the damage, and the plugin downloaded the same snapshot here.
    Everything stays in namespace %[1]s (MinIO, started by the demo, has stopped;
    a re-run starts over):

      export KUBECONFIG=%[2]s PATH=%[3]s:$PATH
      kubectl cairn -n %[1]s status                  # every schedule: last backup, last success, next run
      kubectl cairn -n %[1]s snapshots               # the Snapshots, newest first
      kubectl cairn -n %[1]s logs %[4]s    # what the backup Job printed
      kubectl cairn -n %[1]s pause notes             # stop the schedule (resume starts it again)
      kubectl get backupsession,restoresession,snapshot -n %[1]s
      kubectl cairn --help                               # and: source <(kubectl-cairn completion bash)
`, demoNamespace, s.c.Kubeconfig(), filepath.Dir(s.pluginPath()), s.session)
	if s.keepWork {
		fmt.Printf("\n    The downloaded copy stays in %s.\n", filepath.Join(s.work, "notes-download"))
	}
}

func (s *story) pluginPath() string {
	return strings.SplitN(s.pathEnv, string(os.PathListSeparator), 2)[0] + "/kubectl-cairn"
}
