//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/trigger"
	"github.com/cairnbackup/cairn/test/operatortest"
)

// TestRetentionKeepsWhatThePolicySays: with a policy that keeps the last
// Snapshot, the second backup's retention Job forgets the first backup's
// engine snapshot and prunes, and its Snapshot object goes; the bucket
// holds exactly one engine snapshot, as `cairn repo snapshots` sees it.
func TestRetentionKeepsWhatThePolicySays(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	e := newConfigEnv(ctx, t)
	one := int32(1)
	rp := &storagev1alpha1.RetentionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "last-one"},
		Spec: storagev1alpha1.RetentionPolicySpec{SuccessfulSnapshots: &storagev1alpha1.SuccessfulSnapshotsKeepPolicy{Last: &one}}}
	if _, err := e.cairn.StorageV1alpha1().RetentionPolicies(e.ns).Create(ctx, rp, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bc := e.pvcConfig("kept")
	bc.Spec.Sessions[0].Scheduler.Schedule = "0 3 1 1 *"
	bc.Spec.Backends = []corev1alpha1.BackendReference{{Name: "minio", StorageRef: common.ObjectReference{Name: "minio"},
		RetentionPolicy: common.ObjectReference{Name: "last-one"}}}
	if _, err := e.cairn.CoreV1alpha1().BackupConfigurations(e.ns).Create(ctx, bc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitConfig(ctx, t, "kept", 2*time.Minute, "Ready", isPhase(corev1alpha1.BackupConfigurationReady))
	var sessions []string
	for i := 0; i < 2; i++ {
		bs, err := trigger.Create(ctx, e.cairn, e.ns, "kept", "minutely", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		e.waitBackup(ctx, t, bs.Name)
		sessions = append(sessions, bs.Name)
	}
	last, err := e.cairn.CoreV1alpha1().BackupSessions(e.ns).Get(ctx, sessions[1], metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cond := meta.FindStatusCondition(last.Status.Conditions, corev1alpha1.ConditionRetentionPolicyApplied)
	if cond == nil || cond.Status != metav1.ConditionTrue || len(last.Status.RetentionPolicy) != 1 || last.Status.RetentionPolicy[0].Phase != corev1alpha1.RetentionPolicyApplied {
		t.Fatalf("retention of %s: condition %+v, status %+v", sessions[1], cond, last.Status.RetentionPolicy)
	}
	snaps, err := e.cairn.StorageV1alpha1().Snapshots(e.ns).List(ctx, metav1.ListOptions{LabelSelector: jobs.LabelRepository + "=kept"})
	if err != nil || len(snaps.Items) != 1 || snaps.Items[0].Spec.BackupSession != sessions[1] {
		t.Fatalf("Snapshots left %+v (err %v): want only the second session's", snaps.Items, err)
	}
	keptID := snaps.Items[0].Status.Components[jobs.ComponentDump].DataMoverSnapshotID
	ids := e.engineSnapshots(ctx, t, "dir-kept")
	if len(ids) != 1 || ids[0] != keptID {
		t.Fatalf("engine snapshots in the bucket %v, want only %s", ids, keptID)
	}
}

// engineSnapshots lists the engine snapshots of a repository directory with
// the cairn CLI on this machine, straight from MinIO.
func (e *configEnv) engineSnapshots(ctx context.Context, t *testing.T, dir string) []string {
	t.Helper()
	e.hostCairn(ctx, t, dir, "repo", "snapshots", "--json")
	var list []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(e.lastOut, &list); err != nil {
		t.Fatalf("cairn repo snapshots --json printed %q: %v", e.lastOut, err)
	}
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	return ids
}

// TestMaintenanceNeverOverlaps: two sessions of one repository finish
// together (concurrencyPolicy Allow) and both need retention, while an
// integrity check of the repository is asked for at the same moment. The
// operator runs their maintenance Jobs one at a time under the
// repository's Lease: sampled again and again, every running maintenance
// Job is the holder of the Lease (read unchanged before and after the
// Jobs are listed), no two of them ever run at once, their pods' run
// times do not overlap, both sessions' retention is applied (the one that
// waited decides again once it holds the Lease, and may find nothing left
// to drop), and the Lease is gone once all ended.
func TestMaintenanceNeverOverlaps(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	e := newConfigEnv(ctx, t)
	kube := e.c.Client()
	one := int32(1)
	rp := &storagev1alpha1.RetentionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "last-one"},
		Spec: storagev1alpha1.RetentionPolicySpec{SuccessfulSnapshots: &storagev1alpha1.SuccessfulSnapshotsKeepPolicy{Last: &one}}}
	if _, err := e.cairn.StorageV1alpha1().RetentionPolicies(e.ns).Create(ctx, rp, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bc := e.pvcConfig("maint")
	bc.Spec.Sessions[0].Scheduler.Schedule = "0 3 1 1 *"
	bc.Spec.Sessions[0].Scheduler.ConcurrencyPolicy = corev1alpha1.AllowConcurrent
	bc.Spec.Sessions[0].SessionHistoryLimit = 5 // keep the sessions, so their retention pods stay to be compared
	bc.Spec.Backends = []corev1alpha1.BackendReference{{Name: "minio", StorageRef: common.ObjectReference{Name: "minio"},
		RetentionPolicy: common.ObjectReference{Name: "last-one"}}}
	if _, err := e.cairn.CoreV1alpha1().BackupConfigurations(e.ns).Create(ctx, bc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitConfig(ctx, t, "maint", 2*time.Minute, "Ready", isPhase(corev1alpha1.BackupConfigurationReady))
	// A first backup, so that each of the next two has one to drop.
	first, err := trigger.Create(ctx, e.cairn, e.ns, "maint", "minutely", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.waitBackup(ctx, t, first.Name)

	// The Lease's documented name: cairn-maintenance-<namespace>.<repository>.
	leases := kube.CoordinationV1().Leases(operatortest.Namespace)
	leaseName := "cairn-maintenance-" + e.ns + ".maint"
	sel := metav1.ListOptions{LabelSelector: jobs.LabelRepository + "=maint"}
	active := func(js []batchv1.Job) []string {
		var out []string
		for _, j := range js {
			if (j.Labels["app.kubernetes.io/component"] == jobs.ComponentRetention || j.Labels["app.kubernetes.io/component"] == jobs.ComponentCheck) &&
				j.Status.CompletionTime == nil && !jobFailed(&j) {
				out = append(out, j.Name)
			}
		}
		return out
	}
	// sample reads the Lease, the repository's Jobs and the Lease again;
	// ok is false when the Lease changed in between (no verdict).
	sample := func() (holder string, running []string, ok bool) {
		before, err1 := leases.Get(ctx, leaseName, metav1.GetOptions{})
		list, err := kube.BatchV1().Jobs(e.ns).List(ctx, sel)
		after, err2 := leases.Get(ctx, leaseName, metav1.GetOptions{})
		if err != nil || (err1 == nil) != (err2 == nil) || (err1 != nil && !apierrors.IsNotFound(err1)) || (err2 != nil && !apierrors.IsNotFound(err2)) {
			return "", nil, false
		}
		if err1 == nil {
			if before.ResourceVersion != after.ResourceVersion {
				return "", nil, false
			}
			if before.Spec.HolderIdentity != nil {
				holder = *before.Spec.HolderIdentity
			}
		}
		return holder, active(list.Items), true
	}

	now := time.Now()
	var sessions []string
	for i := 0; i < 2; i++ {
		bs, err := trigger.Create(ctx, e.cairn, e.ns, "maint", "minutely", now.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		sessions = append(sessions, bs.Name)
	}
	// The operator writes the Repository too: retry on a conflict.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		repo, err := e.cairn.StorageV1alpha1().Repositories(e.ns).Get(ctx, "maint", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if repo.Annotations == nil {
			repo.Annotations = map[string]string{}
		}
		repo.Annotations["storage.cairn.dev/check-requested-at"] = now.UTC().Format(time.RFC3339)
		_, err = e.cairn.StorageV1alpha1().Repositories(e.ns).Update(ctx, repo, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}

	seen := map[string]bool{}
	samples, held := 0, 0
	err = wait.PollUntilContextTimeout(ctx, 300*time.Millisecond, 8*time.Minute, true, func(ctx context.Context) (bool, error) {
		holder, running, ok := sample()
		if ok {
			samples++
			if len(running) > 1 {
				return false, fmt.Errorf("maintenance Jobs %v of one repository run at once", running)
			}
			for _, j := range running {
				seen[j] = true
				held++
				if j != holder {
					return false, fmt.Errorf("maintenance Job %s runs while the Lease is held by %q", j, holder)
				}
			}
		}
		for _, s := range sessions {
			bs, err := e.cairn.CoreV1alpha1().BackupSessions(e.ns).Get(ctx, s, metav1.GetOptions{})
			if err != nil || !bs.Status.Phase.IsFinished() {
				return false, nil
			}
		}
		r, err := e.cairn.StorageV1alpha1().Repositories(e.ns).Get(ctx, "maint", metav1.GetOptions{})
		if err != nil || r.Status.LastIntegrityCheckTime == nil {
			return false, nil
		}
		_, err = leases.Get(ctx, leaseName, metav1.GetOptions{})
		return ok && len(running) == 0 && apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatalf("%v (maintenance Jobs seen running: %v)\n%s", err, seen, e.c.Diagnose(ctx, e.ns, jobs.LabelRepository+"=maint"))
	}
	for _, s := range sessions {
		e.waitBackup(ctx, t, s)
	}
	// Each maintenance Job's pod ran after the one before it ended.
	pods, err := kube.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: jobs.LabelRepository + "=maint"})
	if err != nil {
		t.Fatal(err)
	}
	type run struct {
		job        string
		start, end time.Time
	}
	var runs []run
	for _, p := range pods.Items {
		c := p.Labels["app.kubernetes.io/component"]
		if c != jobs.ComponentRetention && c != jobs.ComponentCheck {
			continue
		}
		for _, cs := range p.Status.ContainerStatuses {
			if tm := cs.State.Terminated; tm != nil {
				runs = append(runs, run{p.Labels[batchv1.JobNameLabel], tm.StartedAt.Time, tm.FinishedAt.Time})
			}
		}
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].start.Before(runs[j].start) })
	for _, r := range runs {
		t.Logf("%s ran %s to %s", r.job, r.start.Format(time.TimeOnly), r.end.Format(time.TimeOnly))
	}
	t.Logf("%d samples, %d with a running maintenance Job holding the Lease", samples, held)
	// The check and at least one retention ran; a retention that waited
	// for the other may find nothing left to drop once it had the Lease.
	if len(runs) < 2 {
		t.Fatalf("%d maintenance runs, want the check and a retention at least: %+v", len(runs), runs)
	}
	for _, s := range sessions {
		bs, err := e.cairn.CoreV1alpha1().BackupSessions(e.ns).Get(ctx, s, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if c := meta.FindStatusCondition(bs.Status.Conditions, corev1alpha1.ConditionRetentionPolicyApplied); c == nil || c.Status != metav1.ConditionTrue {
			t.Fatalf("retention of %s: %+v", s, c)
		}
	}
	for i := 1; i < len(runs); i++ {
		if runs[i].start.Before(runs[i-1].end) {
			t.Fatalf("%s started at %s, before %s ended at %s", runs[i].job, runs[i].start, runs[i-1].job, runs[i-1].end)
		}
	}
	if held == 0 {
		t.Fatal("no sample caught a maintenance Job running: the test proved nothing")
	}
}

func jobFailed(j *batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
