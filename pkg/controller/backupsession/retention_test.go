package backupsession

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller/internal/maintlease"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/names"
)

const operatorNS = "cairn-system"

// leaseHolder is the Job holding web-repo's maintenance Lease, "" if none.
func (f *fixture) leaseHolder() string {
	f.t.Helper()
	l, err := f.Kube.CoordinationV1().Leases(operatorNS).Get(f.Ctx, maintlease.Name("app", "web-repo"), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return ""
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return maintlease.HolderOf(l)
}

// retentionDue runs the fixture's session to the point where its next
// sync finds it succeeded and retention must drop an older Snapshot of
// web-repo (policy: keep the last one), with the maintenance Leases in
// the operator's namespace.
func retentionDue(t *testing.T) *fixture {
	one := int32(1)
	k, c := setup(func(bc *corev1alpha1.BackupConfiguration) {
		bc.Spec.Backends = []corev1alpha1.BackendReference{{Name: "s3", StorageRef: common.ObjectReference{Namespace: "infra", Name: "s3"},
			RetentionPolicy: common.ObjectReference{Name: "keep-one"}}}
	})
	old := &storagev1alpha1.Snapshot{
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "old", Labels: map[string]string{jobs.LabelRepository: "web-repo"}},
		Spec:       storagev1alpha1.SnapshotSpec{Repository: "web-repo"},
		Status: storagev1alpha1.SnapshotStatus{Phase: storagev1alpha1.SnapshotSucceeded, SnapshotTime: &metav1.Time{Time: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
			Components: map[string]storagev1alpha1.Component{jobs.ComponentDump: {Phase: storagev1alpha1.ComponentSucceeded, DataMoverSnapshotID: strings.Repeat("cd", 32)}}},
	}
	policy := &storagev1alpha1.RetentionPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "keep-one"},
		Spec: storagev1alpha1.RetentionPolicySpec{SuccessfulSnapshots: &storagev1alpha1.SuccessfulSnapshotsKeepPolicy{Last: &one}}}
	f := newFixture(t, k, append(c, old, policy))
	f.c.leases = maintlease.New(f.Kube, operatorNS)
	f.c.leases.Now = func() time.Time { return f.Now }
	f.sync("web-daily-1")
	f.setComponent(snapName, jobs.ComponentDump, storagev1alpha1.ComponentSucceeded, "")
	f.setJob(names.BackupJob("web-daily-1", "web-repo", jobs.ComponentDump), batchv1.JobComplete)
	return f
}

// syncAfter syncs the session and returns when it asked to be looked at again.
func (f *fixture) syncAfter(name string) time.Duration {
	f.t.Helper()
	var requeue time.Duration
	if _, err := f.Sync(func() error {
		res, err := f.c.sync(f.Ctx, cache.ObjectName{Namespace: "app", Name: name})
		requeue = res.RequeueAfter
		return err
	}); err != nil {
		f.t.Fatalf("sync %s: %v", name, err)
	}
	return requeue
}

// TestRetentionWaitsForTheRepositoryLease: while the Repository's check Job
// holds the maintenance Lease, retention creates no Job, even though the
// informer cache shows no maintenance Job running (a stale cache); once
// the check finished, retention takes the Lease over, holds it while its
// Job runs and gives it back when the Job is done.
func TestRetentionWaitsForTheRepositoryLease(t *testing.T) {
	f := retentionDue(t)
	check := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: jobs.CheckJobName("web-repo", 1)}}
	if err := f.c.leases.Acquire(f.Ctx, cache.ObjectName{Namespace: "app", Name: "web-repo"}, check.Name); err != nil {
		t.Fatal(err)
	}
	// The check Job exists in the API only; the cache has not seen it.
	if _, err := f.Kube.BatchV1().Jobs("app").Create(f.Ctx, check, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := f.Deps.Informers.Managed.Batch().V1().Jobs().Informer().GetIndexer().Delete(check); err != nil {
		t.Fatal(err)
	}
	retention := jobs.RetentionJobName("web-daily-1", "web-repo")
	if requeue := f.syncAfter("web-daily-1"); requeue != retentionBusyWait {
		t.Fatalf("requeue %v while the check holds the Lease", requeue)
	}
	if _, err := f.Kube.BatchV1().Jobs("app").Get(f.Ctx, retention, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a retention Job was created while the check holds the Lease (%v)", err)
	}
	if bs := f.session("web-daily-1"); len(bs.Status.RetentionPolicy) != 1 || bs.Status.RetentionPolicy[0].Phase != corev1alpha1.RetentionPolicyPending {
		t.Fatalf("retention %+v while waiting", bs.Status.RetentionPolicy)
	}

	// The check finished, but the Repository controller has not given the
	// Lease back yet: retention takes it over.
	f.setJob(check.Name, batchv1.JobComplete)
	f.syncAfter("web-daily-1")
	if _, err := f.Kube.BatchV1().Jobs("app").Get(f.Ctx, retention, metav1.GetOptions{}); err != nil {
		t.Fatalf("no retention Job after the check: %v", err)
	}
	if h := f.leaseHolder(); h != retention {
		t.Fatalf("Lease held by %q while the retention Job runs", h)
	}
	// The check's late release leaves the retention's Lease alone.
	if err := f.c.leases.Release(f.Ctx, cache.ObjectName{Namespace: "app", Name: "web-repo"}, check.Name); err != nil || f.leaseHolder() != retention {
		t.Fatalf("the check's release took the retention's Lease: %v, holder %q", err, f.leaseHolder())
	}
	f.syncAfter("web-daily-1") // still running: the Lease stays
	if h := f.leaseHolder(); h != retention {
		t.Fatalf("Lease held by %q while the retention Job runs", h)
	}
	f.setJob(retention, batchv1.JobComplete)
	f.syncAfter("web-daily-1")
	if bs := f.session("web-daily-1"); bs.Status.RetentionPolicy[0].Phase != corev1alpha1.RetentionPolicyApplied {
		t.Fatalf("retention %+v after its Job", bs.Status.RetentionPolicy)
	}
	if h := f.leaseHolder(); h != "" {
		t.Fatalf("the Lease is still held by %q after the retention Job", h)
	}
}

// TestFailedRetentionJobGivesTheLeaseBack: a failed retention Job fails
// only the retention (a condition), and frees the repository for the next
// maintenance Job.
func TestFailedRetentionJobGivesTheLeaseBack(t *testing.T) {
	f := retentionDue(t)
	f.syncAfter("web-daily-1")
	retention := jobs.RetentionJobName("web-daily-1", "web-repo")
	if h := f.leaseHolder(); h != retention {
		t.Fatalf("Lease held by %q, want the retention Job", h)
	}
	f.setJob(retention, batchv1.JobFailed)
	f.syncAfter("web-daily-1")
	bs := f.session("web-daily-1")
	if bs.Status.Phase != corev1alpha1.BackupSessionSucceeded || bs.Status.RetentionPolicy[0].Phase != corev1alpha1.RetentionPolicyFailedToApply {
		t.Fatalf("phase %s, retention %+v", bs.Status.Phase, bs.Status.RetentionPolicy)
	}
	if h := f.leaseHolder(); h != "" {
		t.Fatalf("the Lease is still held by %q after the failed Job", h)
	}
}

// TestRetentionLeavesRunningSessionsAlone: another session of the
// repository, still running with a newer Succeeded Snapshot, is left out
// of this session's plan, and this session does not drop its own Snapshot
// either (keep-last-one would drop it in favour of the newer one): only
// the older, settled Snapshot goes.
func TestRetentionLeavesRunningSessionsAlone(t *testing.T) {
	f := retentionDue(t)
	other := &corev1alpha1.BackupSession{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web-daily-2", UID: "uid-bs-2"},
		Spec:   corev1alpha1.BackupSessionSpec{Invoker: common.TypedLocalObjectReference{APIGroup: corev1alpha1.GroupName, Kind: "BackupConfiguration", Name: "web"}, Session: "daily"},
		Status: corev1alpha1.BackupSessionStatus{Phase: corev1alpha1.BackupSessionRunning}}
	newer := &storagev1alpha1.Snapshot{
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web-repo-web-daily-2", Labels: map[string]string{jobs.LabelRepository: "web-repo"}},
		Spec:       storagev1alpha1.SnapshotSpec{Repository: "web-repo", BackupSession: other.Name},
		Status: storagev1alpha1.SnapshotStatus{Phase: storagev1alpha1.SnapshotSucceeded, SnapshotTime: &metav1.Time{Time: f.Now.Add(time.Hour)},
			Components: map[string]storagev1alpha1.Component{jobs.ComponentDump: {Phase: storagev1alpha1.ComponentSucceeded, DataMoverSnapshotID: strings.Repeat("ef", 32)}}},
	}
	if _, err := f.Cairn.CoreV1alpha1().BackupSessions("app").Create(f.Ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Cairn.StorageV1alpha1().Snapshots("app").Create(f.Ctx, newer, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.Refresh()
	f.syncAfter("web-daily-1")
	job, err := f.Kube.BatchV1().Jobs("app").Get(f.Ctx, jobs.RetentionJobName("web-daily-1", "web-repo"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if drop := job.Annotations[jobs.DropAnnotation]; drop != "old" {
		t.Fatalf("retention drops %q, want only the settled older Snapshot", drop)
	}
	if args := strings.Join(job.Spec.Template.Spec.Containers[0].Args, " "); strings.Contains(args, strings.Repeat("ef", 32)) {
		t.Fatalf("retention forgets the running session's engine snapshot: %s", args)
	}
}
