package repository

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

func snapAt(name string, phase storagev1.SnapshotPhase, at time.Time, total, uploaded int64) *storagev1.Snapshot {
	t := metav1.NewTime(at)
	return &storagev1.Snapshot{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: name},
		Spec: storagev1.SnapshotSpec{Repository: "web", Session: "daily"},
		Status: storagev1.SnapshotStatus{Phase: phase, SnapshotTime: &t, Components: map[string]storagev1.Component{
			"dump": {Stats: &storagev1.FileStats{TotalBytes: total, UploadedBytes: uploaded}}}}}
}

// TestSummarizeSnapshots: the status a Repository's Snapshots give.
func TestSummarizeSnapshots(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	dropped := snapAt("web-daily-0", storagev1.SnapshotSucceeded, t0, 1<<20, 1<<20)
	dropped.DeletionTimestamp = &metav1.Time{Time: t0}
	snaps := []*storagev1.Snapshot{
		dropped,
		snapAt("web-daily-1", storagev1.SnapshotSucceeded, t0.Add(time.Hour), 3<<20, 2<<20),
		snapAt("web-daily-2", storagev1.SnapshotSucceeded, t0.Add(2*time.Hour), 3<<20, 1<<20),
		snapAt("web-daily-3", storagev1.SnapshotFailed, t0.Add(3*time.Hour), 0, 0),
		snapAt("web-daily-4", storagev1.SnapshotRunning, t0.Add(4*time.Hour), 0, 0), // being taken: not yet
		snapAt("web-daily-5", storagev1.SnapshotPending, t0.Add(5*time.Hour), 0, 0),
	}
	for i := 4; i < 9; i++ {
		snaps = append(snaps, snapAt("old-"+string(rune('a'+i)), storagev1.SnapshotSucceeded, t0.Add(-time.Duration(i)*time.Hour), 0, 0))
	}
	var st storagev1.RepositoryStatus
	summarize(&st, snaps)
	if *st.SnapshotCount != 7 || st.Size != "3.0 MiB" {
		t.Fatalf("count %d size %q, want 7 and 3.0 MiB (the dropped one left out)", *st.SnapshotCount, st.Size)
	}
	if !st.LastBackupTime.Time.Equal(t0.Add(3*time.Hour)) || !st.LastSuccessfulBackupTime.Time.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("last backup %v, last successful %v", st.LastBackupTime, st.LastSuccessfulBackupTime)
	}
	if len(st.RecentSnapshots) != recentSnapshots || st.RecentSnapshots[0].Name != "web-daily-3" || st.RecentSnapshots[0].Phase != storagev1.SnapshotFailed ||
		st.RecentSnapshots[1].Name != "web-daily-2" || st.RecentSnapshots[1].Size != "3.0 MiB" || st.RecentSnapshots[1].Session != "daily" {
		t.Fatalf("recent %+v", st.RecentSnapshots)
	}
	empty := storagev1.RepositoryStatus{}
	summarize(&empty, nil)
	if *empty.SnapshotCount != 0 || empty.Size != "" || empty.LastBackupTime != nil || empty.RecentSnapshots != nil {
		t.Fatalf("no snapshots: %+v", empty)
	}
}

// TestOnlyFinishedSnapshotsWakeTheRepository: a backup's Snapshot wakes
// its Repository once, when it ends, not when it is created, starts or
// reports progress; a finished one still wakes it when it changes or goes.
func TestOnlyFinishedSnapshotsWakeTheRepository(t *testing.T) {
	f := newFixture(t, newRepository("web", "r-1", "apps/web"))
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	pending := snapAt("web-daily-1", storagev1.SnapshotPending, t0, 0, 0)
	running := snapAt("web-daily-1", storagev1.SnapshotRunning, t0, 1<<20, 0)
	progressed := snapAt("web-daily-1", storagev1.SnapshotRunning, t0, 2<<20, 0)
	done := snapAt("web-daily-1", storagev1.SnapshotSucceeded, t0, 2<<20, 1<<20)
	deleting := done.DeepCopy()
	deleting.DeletionTimestamp = &metav1.Time{Time: t0}
	queued := func() int {
		n := f.c.loop.Queue.Len()
		for f.c.loop.Queue.Len() > 0 {
			k, _ := f.c.loop.Queue.Get()
			f.c.loop.Queue.Done(k)
		}
		return n
	}
	f.c.snapshotAdded(pending)
	f.c.snapshotChanged(pending, running)
	f.c.snapshotChanged(running, progressed)
	if n := queued(); n != 0 {
		t.Fatalf("a Snapshot being taken woke its Repository (%d)", n)
	}
	for _, step := range []struct {
		name     string
		old, new *storagev1.Snapshot
	}{{"ended", progressed, done}, {"deletion began", done, deleting}} {
		f.c.snapshotChanged(step.old, step.new)
		if n := queued(); n != 1 {
			t.Fatalf("a Snapshot that %s woke %d Repositories, want 1", step.name, n)
		}
	}
	f.c.snapshotAdded(done)
	if n := queued(); n != 1 {
		t.Fatal("an adopted finished Snapshot did not wake its Repository")
	}
}
