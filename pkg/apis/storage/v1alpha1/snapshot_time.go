package v1alpha1

import "time"

// TakenAt is when the snapshot was taken: status.snapshotTime, or the
// object's creation before the session recorded it. Every "newest
// snapshot" question (restore of latest, status summaries) orders by it.
func (s *Snapshot) TakenAt() time.Time {
	if s.Status.SnapshotTime != nil {
		return s.Status.SnapshotTime.Time
	}
	return s.CreationTimestamp.Time
}

// NewestSucceeded is the newest Succeeded snapshot of snaps that is not
// being deleted, or nil: the one a restore of `latest` would use.
func NewestSucceeded(snaps []*Snapshot) *Snapshot {
	var best *Snapshot
	for _, s := range snaps {
		if s.Status.Phase != SnapshotSucceeded || s.DeletionTimestamp != nil {
			continue
		}
		if best == nil || s.TakenAt().After(best.TakenAt()) {
			best = s
		}
	}
	return best
}
