//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/trigger"
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
