package repository

import (
	"cmp"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/progress"
)

// byRepository indexes Snapshots by "<ns>/<spec.repository>".
const byRepository = "repository"

// recentSnapshots is how many snapshots status.recentSnapshots lists.
const recentSnapshots = 5

func indexSnapshotRepository(obj any) ([]string, error) {
	s, ok := obj.(*storagev1.Snapshot)
	if !ok {
		return nil, fmt.Errorf("indexing: expected a Snapshot, got %T", obj)
	}
	return []string{s.Namespace + "/" + s.Spec.Repository}, nil
}

// snapshotChanged wakes a Snapshot's Repository when what its status
// summarises changed: a Snapshot ended, or a finished one changed its
// phase or time, or its deletion began. A Snapshot being taken (created
// Pending, then Running, then the runners' progress patches) does not
// show in the Repository's status, so it wakes nothing until it ends.
func (c *Controller) snapshotChanged(oldObj, newObj any) {
	o, ok1 := oldObj.(*storagev1.Snapshot)
	n, ok2 := newObj.(*storagev1.Snapshot)
	if ok1 && ok2 && !summarized(o) && !summarized(n) {
		return
	}
	if ok1 && ok2 && o.Status.Phase == n.Status.Phase && o.TakenAt().Equal(n.TakenAt()) && (o.DeletionTimestamp == nil) == (n.DeletionTimestamp == nil) {
		return
	}
	c.wakeSnapshotRepository(newObj)
}

// snapshotAdded wakes the Repository of a finished Snapshot (one adopted
// from the storage, or one the cache first sees finished); a new Snapshot
// being taken wakes it when it ends.
func (c *Controller) snapshotAdded(obj any) {
	if s, ok := obj.(*storagev1.Snapshot); ok && !summarized(s) {
		return
	}
	c.wakeSnapshotRepository(obj)
}

// summarized reports a Snapshot the Repository's status counts: a
// finished one (Succeeded or Failed).
func summarized(s *storagev1.Snapshot) bool {
	return s.Status.Phase == storagev1.SnapshotSucceeded || s.Status.Phase == storagev1.SnapshotFailed
}

func (c *Controller) wakeSnapshotRepository(obj any) {
	if t, ok := obj.(interface{ GetObj() any }); ok {
		obj = t.GetObj()
	}
	if s, ok := obj.(*storagev1.Snapshot); ok {
		c.loop.EnqueueName(s.Namespace, s.Spec.Repository)
	}
}

// hasSucceeded reports a Succeeded Snapshot in the Repository: its engine
// repository exists and has something to check.
func (c *Controller) hasSucceeded(repo *storagev1.Repository) bool {
	objs, _ := c.snapIndex.ByIndex(byRepository, repo.Namespace+"/"+repo.Name)
	for _, o := range objs {
		if s := o.(*storagev1.Snapshot); s.Status.Phase == storagev1.SnapshotSucceeded && s.DeletionTimestamp == nil {
			return true
		}
	}
	return false
}

// summarize fills the status fields a Repository's Snapshot objects give:
// how many Succeeded snapshots it holds and the data they stored, the
// newest few finished ones, and when the last and the last successful
// backup were taken. Snapshots being deleted (dropped by retention) no
// longer count, and Snapshots still being taken not yet: their progress
// is on their BackupSession, and leaving them out spares the Repository
// a status write at each step of every backup.
func summarize(st *storagev1.RepositoryStatus, snaps []*storagev1.Snapshot) {
	live := make([]*storagev1.Snapshot, 0, len(snaps))
	for _, s := range snaps {
		if s.DeletionTimestamp == nil && summarized(s) {
			live = append(live, s)
		}
	}
	slices.SortFunc(live, func(a, b *storagev1.Snapshot) int {
		if c := b.TakenAt().Compare(a.TakenAt()); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	var count int32
	var stored int64
	for _, s := range live {
		if s.Status.Phase != storagev1.SnapshotSucceeded {
			continue
		}
		count++
		for _, comp := range s.Status.Components {
			if comp.Stats != nil {
				stored += comp.Stats.UploadedBytes
			}
		}
	}
	st.SnapshotCount = &count
	st.Size = ""
	if count > 0 {
		st.Size = progress.FormatBytes(stored)
	}
	st.RecentSnapshots = nil
	for _, s := range live[:min(len(live), recentSnapshots)] {
		st.RecentSnapshots = append(st.RecentSnapshots, storagev1.SnapshotInfo{Name: s.Name, Phase: s.Status.Phase,
			Session: s.Spec.Session, Size: logicalSize(s), SnapshotTime: timeOf(s)})
	}
	st.LastBackupTime = nil
	if len(live) > 0 {
		st.LastBackupTime = timeOf(live[0])
	}
	st.LastSuccessfulBackupTime = nil
	if s := storagev1.NewestSucceeded(live); s != nil {
		st.LastSuccessfulBackupTime = timeOf(s)
	}
}

func timeOf(s *storagev1.Snapshot) *metav1.Time {
	t := metav1.NewTime(s.TakenAt())
	return &t
}

// logicalSize is the size of the data a snapshot holds (its components'
// total bytes), "" when no component reported one.
func logicalSize(s *storagev1.Snapshot) string {
	var n int64
	seen := false
	for _, comp := range s.Status.Components {
		if comp.Stats != nil {
			n += comp.Stats.TotalBytes
			seen = true
		}
	}
	if !seen {
		return ""
	}
	return progress.FormatBytes(n)
}
