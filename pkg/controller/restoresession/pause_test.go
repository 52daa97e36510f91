package restoresession

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
)

func backupConfig(name, claim string) *corev1alpha1.BackupConfiguration {
	return &corev1alpha1.BackupConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: name},
		Spec: corev1alpha1.BackupConfigurationSpec{Target: common.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: claim}}}
}

func (f *fixture) jobCount() int {
	f.t.Helper()
	js, err := f.Kube.BatchV1().Jobs("app").List(f.Ctx, metav1.ListOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return len(js.Items)
}

func pausedReason(rs *corev1alpha1.RestoreSession) (metav1.ConditionStatus, string) {
	c := meta.FindStatusCondition(rs.Status.Conditions, corev1alpha1.ConditionBackupsPaused)
	if c == nil {
		return "", ""
	}
	return c.Status, c.Reason
}

// The restore records the configs of its target before any Job exists,
// waits for a backup of one of them that already runs, restores, and
// releases the hold when it finishes; the configs' spec is never written.
func TestRestoreHoldsTheTargetsBackups(t *testing.T) {
	k, c := setup(corev1alpha1.LatestSnapshot)
	running := &corev1alpha1.BackupSession{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web-daily-1"},
		Spec: corev1alpha1.BackupSessionSpec{Invoker: common.TypedLocalObjectReference{Kind: "BackupConfiguration", Name: "web"}, Session: "daily"},
		Status: corev1alpha1.BackupSessionStatus{Phase: corev1alpha1.BackupSessionRunning,
			Conditions: []metav1.Condition{{Type: corev1alpha1.ConditionSnapshotsCreated, Status: metav1.ConditionTrue}}}}
	c = append(c, backupConfig("web", "data"), backupConfig("logs", "logs"), running)
	f := newFixture(t, k, c)

	rs := f.sync()
	if len(rs.Status.PausedBackups) != 1 || rs.Status.PausedBackups[0].Name != "web" || rs.Status.PausedBackups[0].Kind != "BackupConfiguration" {
		t.Fatalf("pausedBackups %+v: want BackupConfiguration web only", rs.Status.PausedBackups)
	}
	if s, r := pausedReason(rs); s != metav1.ConditionTrue || r != ReasonBackupsPaused || f.jobCount() != 0 {
		t.Fatalf("first sync: BackupsPaused %s/%s, %d Jobs; want the pause recorded before any Job", s, r, f.jobCount())
	}
	if !rs.HoldsBackupsOf("app", "web") || rs.HoldsBackupsOf("app", "logs") {
		t.Fatal("HoldsBackupsOf disagrees with pausedBackups")
	}

	rs = f.sync()
	if s, r := pausedReason(rs); s != metav1.ConditionTrue || r != ReasonWaitingForBackup || f.jobCount() != 0 {
		t.Fatalf("with backup web-daily-1 running: BackupsPaused %s/%s, %d Jobs; want a wait", s, r, f.jobCount())
	}

	running.Status.Phase = corev1alpha1.BackupSessionSucceeded
	if _, err := f.Cairn.CoreV1alpha1().BackupSessions("app").UpdateStatus(f.Ctx, running, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.Refresh()
	if rs = f.sync(); f.jobCount() != 1 || !rs.HoldsBackupsOf("app", "web") {
		t.Fatalf("after the backup finished: %d Jobs, holds %v", f.jobCount(), rs.HoldsBackupsOf("app", "web"))
	}

	rs.Status.Components = map[string]corev1alpha1.ComponentRestoreStatus{jobs.ComponentDump: {Phase: storagev1alpha1.ComponentSucceeded}}
	if _, err := f.Cairn.CoreV1alpha1().RestoreSessions("app").UpdateStatus(f.Ctx, rs, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.Refresh()
	rs = f.sync()
	if s, r := pausedReason(rs); rs.Status.Phase != corev1alpha1.RestoreSucceeded || s != metav1.ConditionFalse || r != ReasonBackupsResumed {
		t.Fatalf("phase %s, BackupsPaused %s/%s; want Succeeded and BackupsResumed", rs.Status.Phase, s, r)
	}
	if rs.HoldsBackupsOf("app", "web") || len(rs.Status.PausedBackups) != 1 {
		t.Fatalf("a finished restore holds no backup but keeps the record: %+v", rs.Status.PausedBackups)
	}
	bc, err := f.Cairn.CoreV1alpha1().BackupConfigurations("app").Get(f.Ctx, "web", metav1.GetOptions{})
	if err != nil || bc.Spec.Paused || bc.Generation != 0 {
		t.Fatalf("the config's spec must be left alone: %+v, %v", bc.Spec, err)
	}
}

// A target nobody backs up starts at once and records nothing.
func TestRestoreOfATargetWithoutBackupsHoldsNothing(t *testing.T) {
	k, c := setup(corev1alpha1.LatestSnapshot)
	f := newFixture(t, k, append(c, backupConfig("logs", "logs")))
	rs := f.sync()
	if len(rs.Status.PausedBackups) != 0 || f.jobCount() != 1 {
		t.Fatalf("pausedBackups %+v, %d Jobs", rs.Status.PausedBackups, f.jobCount())
	}
	if s, _ := pausedReason(rs); s != "" {
		t.Fatalf("BackupsPaused %s without a config", s)
	}
}

// A BackupSession of a held config that exists but has not started yet is
// waited for until the BackupSession controller skips it: it may have been
// starting before the pause reached the shared cache.
func TestRestoreWaitsForAPendingBackupToBeSkipped(t *testing.T) {
	k, c := setup(corev1alpha1.LatestSnapshot)
	pending := &corev1alpha1.BackupSession{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web-daily-2"},
		Spec: corev1alpha1.BackupSessionSpec{Invoker: common.TypedLocalObjectReference{Kind: "BackupConfiguration", Name: "web"}, Session: "daily"}}
	f := newFixture(t, k, append(c, backupConfig("web", "data"), pending))
	f.sync()
	if rs := f.sync(); f.jobCount() != 0 {
		t.Fatalf("%d Jobs while BackupSession web-daily-2 is unfinished (%+v)", f.jobCount(), rs.Status.Conditions)
	}
	pending.Status.Phase = corev1alpha1.BackupSessionSkipped
	if _, err := f.Cairn.CoreV1alpha1().BackupSessions("app").UpdateStatus(f.Ctx, pending, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.Refresh()
	if f.sync(); f.jobCount() != 1 {
		t.Fatalf("%d Jobs after the pending backup was skipped", f.jobCount())
	}
}
