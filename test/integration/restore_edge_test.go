//go:build integration

package integration

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/trigger"
	"github.com/cairnbackup/cairn/test/cluster"
	"github.com/cairnbackup/cairn/test/scenario"
)

// sharedSeed is what each of the two writers puts into its own directory
// of the shared volume, once: files of several sizes and a private one.
const sharedSeed = `set -e
d=/shared/$WRITER
test -f $d/.seeded && exit 0
mkdir -p $d/sub
echo "$WRITER" > $d/name
head -c 200000 /dev/urandom > $d/random.bin
echo deep > $d/sub/deep.txt
chmod 0600 $d/sub/deep.txt
touch $d/.seeded`

// writer is a Deployment of the app's user that seeds its directory of the
// ReadWriteMany claim "shared" (mounted at /shared) and keeps it mounted.
func writer(name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	mounts := []corev1.VolumeMount{{Name: "shared", MountPath: "/shared"}}
	shell := func(script string) corev1.Container {
		return corev1.Container{Name: "app", Image: cluster.BusyboxImage, ImagePullPolicy: corev1.PullNever, Command: []string{"/bin/sh", "-c", script},
			Env: []corev1.EnvVar{{Name: "WRITER", Value: name}}, VolumeMounts: mounts}
	}
	seed := shell(sharedSeed)
	seed.Name = "seed"
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					SecurityContext: &corev1.PodSecurityContext{RunAsUser: ptr.To(appUID), RunAsGroup: ptr.To(appUID), FSGroup: ptr.To(appUID)},
					InitContainers:  []corev1.Container{seed},
					Containers:      []corev1.Container{shell("exec sleep 1000000")},
					Volumes:         []corev1.Volume{scenario.ClaimVolume("shared", "shared")},
				},
			},
		},
	}
}

// claimOf makes a claim of the default StorageClass with one access mode.
func (e *configEnv) claimOf(ctx context.Context, t *testing.T, name string, mode corev1.PersistentVolumeAccessMode) {
	t.Helper()
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{mode},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("32Mi")}}}}
	if _, err := e.c.Client().CoreV1().PersistentVolumeClaims(e.ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitAvailable waits until Deployment name runs (its init container,
// which seeds the data, has finished).
func (e *configEnv) waitAvailable(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		d, err := e.c.Client().AppsV1().Deployments(e.ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && d.Status.AvailableReplicas == 1, nil
	})
	if err != nil {
		t.Fatalf("Deployment %s did not start:\n%s", name, e.c.Diagnose(ctx, e.ns, "app="+name))
	}
}

// inShared runs script as the app's user with the claim "shared" at /shared.
func (e *configEnv) inShared(ctx context.Context, t *testing.T, name, script string) {
	t.Helper()
	spec := scenario.PodSpec(nil, []corev1.Container{scenario.Shell(name, script, scenario.Mount("shared", "/shared"))}, scenario.ClaimVolume("shared", "shared"))
	spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To(appUID), RunAsGroup: ptr.To(appUID)}
	if err := scenario.RunJob(ctx, e.c, e.ns, name, spec); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, e.c.Diagnose(ctx, e.ns, "job-name="+name))
	}
}

// claimConfig backs up claim with the pvc-addon, on a schedule that does
// not fire during the test.
func claimConfig(name, claim string) *corev1alpha1.BackupConfiguration {
	return &corev1alpha1.BackupConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1alpha1.BackupConfigurationSpec{
			Target: common.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: claim},
			Sessions: []corev1alpha1.Session{{
				Name:          "nightly",
				Scheduler:     corev1alpha1.SchedulerSpec{Schedule: "0 3 1 1 *"},
				BackupTimeout: &metav1.Duration{Duration: 5 * time.Minute},
				Addon:         corev1alpha1.AddonInfo{Name: "pvc-addon", Tasks: []corev1alpha1.TaskReference{{Name: "logical-backup"}}},
				Repositories: []corev1alpha1.RepositoryInfo{{Name: name, Directory: name,
					EncryptionSecret: common.ObjectReference{Name: "password"}}},
			}},
		},
	}
}

// claimRestore restores the latest Snapshot of repository into claim.
func claimRestore(name, repository, claim string, params map[string]string) *corev1alpha1.RestoreSession {
	return &corev1alpha1.RestoreSession{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1alpha1.RestoreSessionSpec{
			Target: &common.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: claim},
			DataSource: corev1alpha1.RestoreDataSource{Repository: repository, Snapshot: corev1alpha1.LatestSnapshot,
				EncryptionSecret: common.ObjectReference{Name: "password"}},
			Addon: corev1alpha1.AddonInfo{Name: "pvc-addon", Tasks: []corev1alpha1.TaskReference{{Name: "logical-backup-restore", Params: params}}},
		},
	}
}

// backUpNow triggers session nightly of config as its CronJob would and
// waits for the backup to succeed.
func (e *configEnv) backUpNow(ctx context.Context, t *testing.T, config string) {
	t.Helper()
	bs, err := trigger.Create(ctx, e.cairn, e.ns, config, "nightly", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.waitBackup(ctx, t, bs.Name)
}

// waitRestoreWhere polls RestoreSession name until cond holds.
func (e *configEnv) waitRestoreWhere(ctx context.Context, t *testing.T, name, what string, timeout time.Duration, cond func(*corev1alpha1.RestoreSession) bool) *corev1alpha1.RestoreSession {
	t.Helper()
	var last *corev1alpha1.RestoreSession
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		rs, err := e.cairn.CoreV1alpha1().RestoreSessions(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = rs
		return cond(rs), nil
	})
	if err != nil {
		t.Fatalf("RestoreSession %s: %s did not happen within %s: %+v\n%s", name, what, timeout, last, e.c.Diagnose(ctx, e.ns, jobs.LabelRestoreSession+"="+name))
	}
	return last
}

// TestSharedVolumeRestoreHoldsBackups: a stand-alone ReadWriteMany claim
// mounted by two Deployments is backed up with the pvc-addon. While a
// restore of it runs, its backups are held (status.pausedBackups): `cairn
// trigger` creates nothing and a BackupSession made anyway is Skipped; the
// config's spec.paused is never touched, and backups run again once the
// restore is over. A restore with deleteExtra "true" into the running apps'
// volume brings every file's bytes back and removes what was added since;
// the same snapshot restored on the host from the bucket is identical.
func TestSharedVolumeRestoreHoldsBackups(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	e := newConfigEnv(ctx, t)
	kube := e.c.Client()
	e.claimOf(ctx, t, "shared", corev1.ReadWriteMany)
	for _, name := range []string{"writer-a", "writer-b"} {
		if _, err := kube.AppsV1().Deployments(e.ns).Create(ctx, writer(name), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	e.waitAvailable(ctx, t, "writer-a")
	e.waitAvailable(ctx, t, "writer-b")
	// Both writers' files are on the one volume; record their sums in it.
	e.inShared(ctx, t, "sums", `set -e; cd /shared; test -f writer-a/.seeded; test -f writer-b/.seeded
find writer-a writer-b -type f | sort | xargs md5sum > /shared/.sums`)

	if _, err := e.cairn.CoreV1alpha1().BackupConfigurations(e.ns).Create(ctx, claimConfig("shared", "shared"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitConfig(ctx, t, "shared", 2*time.Minute, "Ready", isPhase(corev1alpha1.BackupConfigurationReady))
	e.backUpNow(ctx, t, "shared")

	// A restore whose pod cannot be scheduled holds the backups until its
	// restoreTimeout fails it.
	held := claimRestore("held", "shared", "shared", nil)
	held.Spec.RestoreTimeout = &metav1.Duration{Duration: 45 * time.Second}
	held.Spec.Addon.JobTemplate = &common.JobTemplate{Spec: common.PodRuntimeSettings{NodeSelector: map[string]string{"cairn.dev/test-no-such-node": "true"}}}
	if _, err := e.cairn.CoreV1alpha1().RestoreSessions(e.ns).Create(ctx, held, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rs := e.waitRestoreWhere(ctx, t, "held", "pausedBackups and restore Jobs", time.Minute, func(rs *corev1alpha1.RestoreSession) bool {
		return len(rs.Status.PausedBackups) == 1 && common.IsTrue(rs.Status.Conditions, corev1alpha1.ConditionRestoreJobsCreated)
	})
	if ref := rs.Status.PausedBackups[0]; ref.Kind != "BackupConfiguration" || ref.Name != "shared" {
		t.Fatalf("pausedBackups %+v", rs.Status.PausedBackups)
	}
	if _, err := trigger.Create(ctx, e.cairn, e.ns, "shared", "nightly", time.Now()); !errors.Is(err, trigger.ErrRestoreRunning) {
		t.Fatalf("a trigger during the restore: %v; want ErrRestoreRunning", err)
	}
	// A BackupSession made anyway (by hand, or by a trigger that looked just
	// before the pause) is Skipped with the reason.
	manual := &corev1alpha1.BackupSession{ObjectMeta: metav1.ObjectMeta{Name: "shared-by-hand"},
		Spec: corev1alpha1.BackupSessionSpec{Invoker: common.TypedLocalObjectReference{APIGroup: corev1alpha1.GroupName, Kind: "BackupConfiguration", Name: "shared"}, Session: "nightly"}}
	if _, err := e.cairn.CoreV1alpha1().BackupSessions(e.ns).Create(ctx, manual, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var skipped *corev1alpha1.BackupSession
	if err := wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
		bs, err := e.cairn.CoreV1alpha1().BackupSessions(e.ns).Get(ctx, manual.Name, metav1.GetOptions{})
		skipped = bs
		return err == nil && bs.Status.Phase.IsFinished(), nil
	}); err != nil || skipped.Status.Phase != corev1alpha1.BackupSessionSkipped {
		t.Fatalf("BackupSession during the restore: %+v", skipped)
	}
	if c := meta.FindStatusCondition(skipped.Status.Conditions, corev1alpha1.ConditionSessionSkipped); c == nil || c.Reason != "RestoreRunning" || !strings.Contains(c.Message, "RestoreSession held") {
		t.Fatalf("Skipped condition %+v", c)
	}
	rs = e.waitRestoreWhere(ctx, t, "held", "the end of the held restore", 2*time.Minute, func(rs *corev1alpha1.RestoreSession) bool { return rs.Status.Phase.IsFinished() })
	if c := meta.FindStatusCondition(rs.Status.Conditions, corev1alpha1.ConditionBackupsPaused); rs.Status.Phase != corev1alpha1.RestoreFailed || c == nil || c.Status != metav1.ConditionFalse || c.Reason != "BackupsResumed" {
		t.Fatalf("held restore: phase %s, BackupsPaused %+v", rs.Status.Phase, c)
	}
	if bc, err := e.cairn.CoreV1alpha1().BackupConfigurations(e.ns).Get(ctx, "shared", metav1.GetOptions{}); err != nil || bc.Spec.Paused {
		t.Fatalf("the config's spec.paused was touched: %v %v", bc.Spec.Paused, err)
	}

	// The apps go on: a file changes, one goes, new ones appear.
	e.inShared(ctx, t, "damage", `set -e; echo corrupted > /shared/writer-a/name; rm /shared/writer-b/random.bin
echo junk > /shared/extra; mkdir /shared/writer-a/later; echo x > /shared/writer-a/later/x`)
	if _, err := e.cairn.CoreV1alpha1().RestoreSessions(e.ns).Create(ctx, claimRestore("undo", "shared", "shared", map[string]string{"deleteExtra": "true"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitRestore(ctx, t, "undo")
	e.inShared(ctx, t, "verify", `set -e; cd /shared; find writer-a writer-b -type f | sort | xargs md5sum | diff /shared/.sums -
test ! -e /shared/extra; test ! -e /shared/writer-a/later; ls -ln writer-a/sub | grep deep | cut -c1-10 | grep -qx -- '-rw-------'`)

	// The same bytes on the host, straight from the bucket.
	snaps, err := e.cairn.StorageV1alpha1().Snapshots(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(snaps.Items) != 1 {
		t.Fatalf("Snapshots: %v (err %v)", len(snaps.Items), err)
	}
	target := t.TempDir()
	e.hostCairn(ctx, t, "shared", "repo", "restore", "--target", target, snaps.Items[0].Status.Components[jobs.ComponentDump].DataMoverSnapshotID)
	sums, err := os.ReadFile(filepath.Join(target, jobs.PVCMountPath, ".sums"))
	if err != nil {
		t.Fatal(err)
	}
	check := exec.CommandContext(ctx, "md5sum", "-c", "--quiet", "-")
	check.Dir, check.Stdin = filepath.Join(target, jobs.PVCMountPath), strings.NewReader(string(sums))
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("the host restore differs from the writers' data: %v\n%s", err, out)
	}

	// Backups run again once the restores are over.
	e.backUpNow(ctx, t, "shared")
}

// TestRestoreIntoAReadWriteOncePodClaimInUseFailsAtOnce: a restore into a
// ReadWriteOncePod claim that a running pod holds fails its component
// within seconds, saying which pod holds it, instead of a restore pod
// Pending for ever.
func TestRestoreIntoAReadWriteOncePodClaimInUseFailsAtOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	e := newConfigEnv(ctx, t)
	e.claimOf(ctx, t, "solo", corev1.ReadWriteOncePod)
	e.runInClaim(ctx, t, "fill", "solo", "echo one > /var/db/one")
	if _, err := e.cairn.CoreV1alpha1().BackupConfigurations(e.ns).Create(ctx, claimConfig("solo", "solo"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitConfig(ctx, t, "solo", 2*time.Minute, "Ready", isPhase(corev1alpha1.BackupConfigurationReady))
	e.backUpNow(ctx, t, "solo")

	app := writer("solo-app")
	app.Spec.Template.Spec.InitContainers = nil
	app.Spec.Template.Spec.Volumes = []corev1.Volume{scenario.ClaimVolume("shared", "solo")}
	if _, err := e.c.Client().AppsV1().Deployments(e.ns).Create(ctx, app, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitAvailable(ctx, t, "solo-app")
	start := time.Now()
	if _, err := e.cairn.CoreV1alpha1().RestoreSessions(e.ns).Create(ctx, claimRestore("into-solo", "solo", "solo", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rs := e.waitRestoreWhere(ctx, t, "into-solo", "a final phase", time.Minute, func(rs *corev1alpha1.RestoreSession) bool { return rs.Status.Phase.IsFinished() })
	comp := rs.Status.Components[jobs.ComponentDump]
	if rs.Status.Phase != corev1alpha1.RestoreFailed || !strings.Contains(comp.Error, "ReadWriteOncePod") || !strings.Contains(comp.Error, "solo-app") {
		t.Fatalf("phase %s, component %+v", rs.Status.Phase, comp)
	}
	t.Logf("restore into a ReadWriteOncePod claim in use failed in %s: %s", time.Since(start).Round(time.Second), comp.Error)
}
