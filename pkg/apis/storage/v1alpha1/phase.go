package v1alpha1

import "github.com/cairnbackup/cairn/pkg/apis/common"

// CalculatePhase derives a Snapshot's phase from its components, so that the
// backup Jobs only ever report per-component facts and the overall phase is
// computed the same way everywhere:
//   - any failed component fails the snapshot;
//   - it succeeds once TotalComponents components have succeeded;
//   - it runs once any component has started;
//   - otherwise it is pending.
func (s *SnapshotStatus) CalculatePhase() SnapshotPhase {
	succeeded, started := 0, 0
	for _, c := range s.Components {
		switch c.Phase {
		case ComponentFailed:
			return SnapshotFailed
		case ComponentSucceeded:
			succeeded++
			started++
		case ComponentRunning:
			started++
		}
	}
	if s.TotalComponents > 0 && int32(succeeded) >= s.TotalComponents {
		return SnapshotSucceeded
	}
	if started > 0 {
		return SnapshotRunning
	}
	return SnapshotPending
}

// CalculatePhase derives a Repository's phase: Ready once its storage was
// found and the repository was initialised in it.
func (s *RepositoryStatus) CalculatePhase() RepositoryPhase {
	if common.AllTrue(s.Conditions, ConditionStorageFound, ConditionRepositoryInitialized) {
		return RepositoryReady
	}
	return RepositoryNotReady
}

// CalculatePhase derives a BackupStorage's phase: Ready once the backend was
// initialised and its credentials Secret (if any) was not reported missing.
func (s *BackupStorageStatus) CalculatePhase() BackupStoragePhase {
	if common.IsFalse(s.Conditions, ConditionBackendSecretFound) {
		return BackupStorageNotReady
	}
	if common.IsTrue(s.Conditions, ConditionStorageInitialized) {
		return BackupStorageReady
	}
	return BackupStorageNotReady
}
