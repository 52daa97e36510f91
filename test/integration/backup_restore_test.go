//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/trigger"
	"github.com/cairnbackup/cairn/test/cluster"
	"github.com/cairnbackup/cairn/test/scenario"
)

// appUID is the user the sample application runs as; the runner reads and
// restores its files as that user.
const appUID = int64(1000)

// seedScript writes the application's data: nested files, an empty file,
// a symlink and a file with its own mode.
const seedScript = `set -e
mkdir -p /data/dir/sub
echo hello > /data/a
head -c 300000 /dev/urandom > /data/dir/random.bin
: > /data/dir/empty
echo deep > /data/dir/sub/deep.txt
chmod 0600 /data/dir/sub/deep.txt
ln -s dir/sub/deep.txt /data/link
cd /data && find . -type f | sort | xargs md5sum > /tmp/sums && ls -ln /data/dir/sub | grep deep | cut -c1-10 > /tmp/mode
cp /tmp/sums /data/.sums; cp /tmp/mode /data/.mode
touch /data/.seeded
sleep 1000000`

// appDeployment runs as appUID and writes its data into PVC data at /data.
func appDeployment() *appsv1.Deployment {
	labels := map[string]string{"app": "web"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					SecurityContext: &corev1.PodSecurityContext{RunAsUser: ptr.To(appUID), RunAsGroup: ptr.To(appUID), FSGroup: ptr.To(appUID)},
					Containers: []corev1.Container{{Name: "app", Image: cluster.BusyboxImage, ImagePullPolicy: corev1.PullNever,
						Command:      []string{"/bin/sh", "-c", "test -f /data/.seeded && exec sleep 1000000; " + seedScript},
						VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}, {Name: "tmp", MountPath: "/tmp"}}}},
					Volumes: []corev1.Volume{scenario.ClaimVolume("data", "data"),
						{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				},
			},
		},
	}
}

// TestBackupDamageRestoreDeployment is the story users judge Cairn by: a
// Deployment's PVC is backed up by the operator's Jobs, the data is
// damaged, a RestoreSession brings it back, and every file's bytes, the
// mode and the symlink are as before; the same snapshot restored on the
// host with `cairn repo restore`, straight from the bucket, is identical.
func TestBackupDamageRestoreDeployment(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	e := newConfigEnv(ctx, t)
	e.startWebBackups(ctx, t)

	// Back up now, exactly as the schedule's CronJob would.
	bs, err := trigger.Create(ctx, e.cairn, e.ns, "web", "nightly", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.waitBackup(ctx, t, bs.Name)
	snaps, err := e.cairn.StorageV1alpha1().Snapshots(e.ns).List(ctx, metav1.ListOptions{LabelSelector: jobs.LabelBackupSession + "=" + bs.Name})
	if err != nil || len(snaps.Items) != 1 {
		t.Fatalf("Snapshots of %s: %v (err %v)", bs.Name, snaps, err)
	}
	comp := snaps.Items[0].Status.Components[jobs.ComponentDump]
	if comp.DataMoverSnapshotID == "" || comp.Stats == nil || comp.Stats.TotalFiles < 5 {
		t.Fatalf("component %+v: want an engine snapshot ID and file stats", comp)
	}

	// Damage the data as the application would: remove, overwrite, add.
	e.runAsApp(ctx, t, "damage", "rm /data/a /data/link && echo corrupted > /data/dir/sub/deep.txt && echo junk > /data/new")

	rs := &corev1alpha1.RestoreSession{
		ObjectMeta: metav1.ObjectMeta{Name: "undo"},
		Spec: corev1alpha1.RestoreSessionSpec{
			Target: &common.TypedObjectReference{APIGroup: "apps", Kind: "Deployment", Name: "web"},
			DataSource: corev1alpha1.RestoreDataSource{Repository: "web", Snapshot: corev1alpha1.LatestSnapshot,
				EncryptionSecret: common.ObjectReference{Name: "password"}},
			Addon: corev1alpha1.AddonInfo{Name: "workload-addon", Tasks: []corev1alpha1.TaskReference{{Name: "logical-backup-restore"}}},
		},
	}
	if _, err := e.cairn.CoreV1alpha1().RestoreSessions(e.ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitRestore(ctx, t, "undo")

	// Every file's bytes and the mode and symlink are back (md5 sums and
	// `ls -ln` taken when the data was written).
	e.runAsApp(ctx, t, "verify", `set -e; cd /data; find . -type f ! -name .sums ! -name .mode ! -name .seeded ! -name new | sort | xargs md5sum > /tmp/now
diff /data/.sums /tmp/now; test "$(readlink /data/link)" = dir/sub/deep.txt; ls -ln /data/dir/sub | grep deep | cut -c1-10 | diff /data/.mode -`)

	// The same snapshot, restored on the host from the bucket with the CLI.
	e.hostRestoreMatches(ctx, t, "web", comp.DataMoverSnapshotID)
}

// startWebBackups starts the sample app (Deployment web) and waits until
// it wrote its data, then creates BackupConfiguration web of it (session
// nightly, once a year, into repository web) and waits until it is Ready.
func (e *configEnv) startWebBackups(ctx context.Context, t *testing.T) {
	t.Helper()
	if _, err := e.c.Client().AppsV1().Deployments(e.ns).Create(ctx, appDeployment(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitAppSeeded(ctx, t)
	bc := &corev1alpha1.BackupConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1alpha1.BackupConfigurationSpec{
			Target: common.TypedObjectReference{APIGroup: "apps", Kind: "Deployment", Name: "web"},
			Sessions: []corev1alpha1.Session{{
				Name:          "nightly",
				Scheduler:     corev1alpha1.SchedulerSpec{Schedule: "0 3 1 1 *"},
				BackupTimeout: &metav1.Duration{Duration: 5 * time.Minute},
				Addon: corev1alpha1.AddonInfo{Name: "workload-addon", Tasks: []corev1alpha1.TaskReference{
					{Name: "logical-backup", Params: map[string]string{"paths": "/data"}}}},
				Repositories: []corev1alpha1.RepositoryInfo{{Name: "web", Directory: "web",
					EncryptionSecret: common.ObjectReference{Name: "password"}}},
			}},
		},
	}
	if _, err := e.cairn.CoreV1alpha1().BackupConfigurations(e.ns).Create(ctx, bc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitConfig(ctx, t, "web", 2*time.Minute, "Ready", isPhase(corev1alpha1.BackupConfigurationReady))
}

// waitAppSeeded waits until the app wrote its data.
func (e *configEnv) waitAppSeeded(ctx context.Context, t *testing.T) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 2*time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		d, err := e.c.Client().AppsV1().Deployments(e.ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && d.Status.AvailableReplicas == 1, nil
	})
	if err != nil {
		t.Fatalf("the sample app did not start:\n%s", e.c.Diagnose(ctx, e.ns, "app=web"))
	}
	time.Sleep(3 * time.Second) // the seed script takes a moment after the container starts
}

// runAsApp runs script as the application's user with its volume at /data.
func (e *configEnv) runAsApp(ctx context.Context, t *testing.T, name, script string) {
	t.Helper()
	spec := scenario.PodSpec(nil, []corev1.Container{scenario.Shell(name, script, scenario.Mount("data", "/data"), scenario.Mount("tmp", "/tmp"))},
		scenario.ClaimVolume("data", "data"))
	spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To(appUID), RunAsGroup: ptr.To(appUID)}
	if err := scenario.RunJob(ctx, e.c, e.ns, name, spec); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, e.c.Diagnose(ctx, e.ns, "job-name="+name))
	}
}

func (e *configEnv) waitBackup(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	var last *corev1alpha1.BackupSession
	err := wait.PollUntilContextTimeout(ctx, 2*time.Second, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		bs, err := e.cairn.CoreV1alpha1().BackupSessions(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = bs
		return bs.Status.Phase.IsFinished(), nil
	})
	if err != nil || last.Status.Phase != corev1alpha1.BackupSessionSucceeded {
		snaps, _ := e.cairn.StorageV1alpha1().Snapshots(e.ns).List(ctx, metav1.ListOptions{})
		t.Fatalf("BackupSession %s: %+v\nsnapshots: %+v\n%s", name, last, snaps, e.c.Diagnose(ctx, e.ns, jobs.LabelBackupSession+"="+name))
	}
}

func (e *configEnv) waitRestore(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	var last *corev1alpha1.RestoreSession
	err := wait.PollUntilContextTimeout(ctx, 2*time.Second, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		rs, err := e.cairn.CoreV1alpha1().RestoreSessions(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = rs
		return rs.Status.Phase.IsFinished(), nil
	})
	if err != nil || last.Status.Phase != corev1alpha1.RestoreSucceeded {
		t.Fatalf("RestoreSession %s: %+v\n%s", name, last, e.c.Diagnose(ctx, e.ns, jobs.LabelRestoreSession+"="+name))
	}
}

// hostRestoreMatches restores engine snapshot id of repository directory
// dir with the cairn CLI on this machine, straight from MinIO, and
// compares the files with the md5 sums the app recorded.
func (e *configEnv) hostRestoreMatches(ctx context.Context, t *testing.T, dir, id string) {
	t.Helper()
	target := t.TempDir()
	url := e.hostCairn(ctx, t, dir, "repo", "restore", "--target", target, id)
	sums, err := os.ReadFile(filepath.Join(target, "data", ".sums"))
	if err != nil {
		t.Fatalf("the host restore has no /data/.sums: %v", err)
	}
	check := exec.CommandContext(ctx, "md5sum", "-c", "--quiet", "-")
	check.Dir = filepath.Join(target, "data")
	check.Stdin = strings.NewReader(string(sums))
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("the host restore differs from the app's data: %v\n%s", err, out)
	}
	if link, err := os.Readlink(filepath.Join(target, "data", "link")); err != nil || link != "dir/sub/deep.txt" {
		t.Fatalf("symlink after the host restore: %q, %v", link, err)
	}
	fmt.Fprintf(os.Stderr, "host restore of %s from %s matches\n", id, url)
}

// hostCairn runs the cairn CLI built from this checkout on this machine
// against repository directory dir of the namespace's BackupStorage minio,
// straight from MinIO, with args (the --repo flag is added), and returns
// the repository URL; its stdout is in e.lastOut.
func (e *configEnv) hostCairn(ctx context.Context, t *testing.T, dir string, args ...string) string {
	t.Helper()
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "cairn")
	if err := cluster.GoBuild(ctx, root, "./cmd/cairn", bin); err != nil {
		t.Fatal(err)
	}
	st, err := e.cairn.StorageV1alpha1().BackupStorages(e.ns).Get(ctx, "minio", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	url, err := blob.RepositoryURL(&st.Spec.Storage, dir)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin, append(args, "--repo", url)...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+e.minio.AccessKey, "AWS_SECRET_ACCESS_KEY="+e.minio.SecretKey, "CAIRN_PASSWORD=integration")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cairn %s --repo %s: %v\n%s", strings.Join(args, " "), url, err, stderr.String())
	}
	e.lastOut = out
	return url
}
