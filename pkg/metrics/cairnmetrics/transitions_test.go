package cairnmetrics

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

// eventually polls the registry until cond holds for its series (the fake
// clientset's watch delivers events asynchronously).
func (f *fixture) eventually(what string, cond func(map[string]float64) bool) map[string]float64 {
	f.t.Helper()
	var last map[string]float64
	err := wait.PollUntilContextTimeout(f.ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		last = f.series()
		return cond(last), nil
	})
	if err != nil {
		f.t.Fatalf("%s did not happen; series: %v", what, last)
	}
	return last
}

// waitSeen waits until n final sessions are accounted for.
func (f *fixture) waitSeen(n int) {
	f.t.Helper()
	err := wait.PollUntilContextTimeout(f.ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		f.c.t.mu.Lock()
		defer f.c.t.mu.Unlock()
		return len(f.c.t.seen) == n, nil
	})
	if err != nil {
		f.t.Fatalf("the seen set never held %d sessions", n)
	}
}

func (f *fixture) setBackupStatus(name string, st corev1alpha1.BackupSessionStatus) {
	f.t.Helper()
	bs, err := f.client.CoreV1alpha1().BackupSessions("ns").Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	bs.Status = st
	if _, err := f.client.CoreV1alpha1().BackupSessions("ns").UpdateStatus(f.ctx, bs, metav1.UpdateOptions{}); err != nil {
		f.t.Fatal(err)
	}
}

func TestTransitionsCountEachSessionOnce(t *testing.T) {
	running := corev1alpha1.BackupSessionStatus{Phase: corev1alpha1.BackupSessionRunning}
	f := newFixture(t,
		config("web", now.Add(-day), schedSession("nightly", "0 3 * * *")),
		repository("web-s3", storagev1alpha1.RepositoryStatus{}),
		// Final before the process started: its predecessor counted it.
		backupSession("old", "web", "nightly", now.Add(-day), succ, "1m"),
		backupSession("new", "web", "nightly", now.Add(-10*time.Minute), corev1alpha1.BackupSessionRunning, ""),
		backupSession("skip", "web", "nightly", now.Add(-time.Minute), "", ""),
		snapshot("s3-new", "web-s3", "web", "nightly", "new", storagev1alpha1.SnapshotSucceeded, now.Add(-10*time.Minute), "3m", 5000, 1200),
		snapshot("s3-old", "web-s3", "web", "nightly", "old", storagev1alpha1.SnapshotSucceeded, now.Add(-day), "1m", 777, 777),
		restore("undo", "web-s3", corev1alpha1.RestoreRunning, ""),
	)
	key := []string{"namespace", "ns", "config", "web", "session", "nightly"}
	completed := func(phase string) string { return sel(BackupSessionsCompleted, append(key, "phase", phase)...) }
	f.waitSeen(1) // the initial list was handled
	if got := family(f.series(), BackupSessionsCompleted); len(got) != 0 {
		t.Fatalf("sessions final at start were counted: %v", got)
	}

	done := corev1alpha1.BackupSessionStatus{Phase: succ, Duration: "4m0s",
		RetentionPolicy: []corev1alpha1.RetentionPolicyApplyStatus{
			{Ref: common.ObjectReference{Name: "keep"}, Repository: "web-s3", Phase: corev1alpha1.RetentionPolicyApplied}}}
	f.setBackupStatus("new", done)
	all := f.eventually("the session's success counted", func(s map[string]float64) bool { return s[completed("Succeeded")] == 1 })
	// A later update of the final session (a resync, a condition) counts nothing more.
	done.Conditions = []metav1.Condition{{Type: "Extra", Status: metav1.ConditionTrue, Reason: "Test", LastTransitionTime: metav1.NewTime(now)}}
	f.setBackupStatus("new", done)
	f.setBackupStatus("skip", running)
	f.setBackupStatus("skip", corev1alpha1.BackupSessionStatus{Phase: corev1alpha1.BackupSessionSkipped})
	all = f.eventually("the skipped session counted", func(s map[string]float64) bool { return s[completed("Skipped")] == 1 })

	expectFamily(t, all, BackupSessionsCompleted, map[string]float64{completed("Succeeded"): 1, completed("Skipped"): 1})
	// The duration is observed for the success only, with the recorded 4 minutes.
	expectFamily(t, all, BackupSessionDuration+"_count", map[string]float64{sel(BackupSessionDuration+"_count", append(key, "phase", "Succeeded")...): 1})
	expectFamily(t, all, BackupSessionDuration+"_sum", map[string]float64{sel(BackupSessionDuration+"_sum", append(key, "phase", "Succeeded")...): 240})
	// Bytes are those of the new session's Snapshot only.
	expectFamily(t, all, BackupProcessedBytes, map[string]float64{sel(BackupProcessedBytes, key...): 5000})
	expectFamily(t, all, BackupUploadedBytes, map[string]float64{sel(BackupUploadedBytes, key...): 1200})
	expectFamily(t, all, RetentionResults, map[string]float64{
		sel(RetentionResults, "namespace", "ns", "repository", "web-s3", "result", "Applied"): 1})

	rs, err := f.client.CoreV1alpha1().RestoreSessions("ns").Get(f.ctx, "undo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rs.Status = corev1alpha1.RestoreSessionStatus{Phase: corev1alpha1.RestoreFailed, Duration: "90s"}
	if _, err := f.client.CoreV1alpha1().RestoreSessions("ns").UpdateStatus(f.ctx, rs, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	restoreKey := []string{"namespace", "ns", "repository", "web-s3", "phase", "Failed"}
	all = f.eventually("the failed restore counted", func(s map[string]float64) bool {
		return s[sel(RestoreSessionsCompleted, restoreKey...)] == 1
	})
	if got := all[sel(RestoreSessionDuration+"_sum", restoreKey...)]; got != 90 {
		t.Errorf("restore duration sum = %v, want 90", got)
	}

	// Deleting the configuration and the repository drops their series.
	if err := f.client.CoreV1alpha1().BackupConfigurations("ns").Delete(f.ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := f.client.StorageV1alpha1().Repositories("ns").Delete(f.ctx, "web-s3", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	f.eventually("the deleted objects' counters dropped", func(s map[string]float64) bool {
		return len(family(s, BackupSessionsCompleted))+len(family(s, BackupUploadedBytes))+
			len(family(s, RetentionResults))+len(family(s, RestoreSessionsCompleted)) == 0
	})
}

func TestDeletedSessionLeavesTheSeenSet(t *testing.T) {
	f := newFixture(t, backupSession("old", "web", "nightly", now.Add(-day), succ, "1m"))
	f.waitSeen(1)
	if err := f.client.CoreV1alpha1().BackupSessions("ns").Delete(f.ctx, "old", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	f.waitSeen(0)
}
