package v1alpha1

import (
	"github.com/cairnbackup/cairn/pkg/apis/common"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

// hookTally counts the outcomes of a list of hooks.
type hookTally struct{ pending, failed int }

func tallyHooks(hooks []HookExecutionStatus) hookTally {
	var t hookTally
	for _, h := range hooks {
		switch h.Phase {
		case HookFailed:
			t.failed++
		case HookSucceeded, HookSkipped:
		default:
			t.pending++
		}
	}
	return t
}

// dataTally counts the outcomes of the data step: the snapshots of a backup
// or the components of a restore.
type dataTally struct {
	succeeded, started int
	failed             bool
}

// tallyData counts phases that use the names Failed, Succeeded and Running.
func tallyData[P ~string](phases []P) dataTally {
	var t dataTally
	for _, p := range phases {
		switch p {
		case "Failed":
			t.failed = true
			t.started++
		case "Succeeded":
			t.succeeded++
			t.started++
		case "Running":
			t.started++
		}
	}
	return t
}

// phases names one kind's phases, so sessionPhase serves backups and restores.
type phases[P ~string] struct{ pending, running, failed, succeeded P }

// sessionPhase is the rule backups and restores share, once their special
// cases (skipped, invalid, deadline) are decided:
//   - a failed pre hook or data step fails the session once the post hooks
//     are settled (post hooks run after failures too, by their policy);
//   - it succeeds when total data steps succeeded and the post hooks (and
//     anything in extra, such as retention) settled without failure;
//   - it runs once any hook or data step has started; otherwise it is pending.
func sessionPhase[P ~string](ph phases[P], pre, post, extra hookTally, preCount int, data dataTally, total int32) P {
	settle := func(failed bool) P {
		switch {
		case post.pending > 0:
			return ph.running
		case failed || post.failed > 0:
			return ph.failed
		default:
			return ph.succeeded
		}
	}
	if pre.failed > 0 || data.failed {
		return settle(true)
	}
	if total > 0 && int32(data.succeeded) >= total {
		post.pending += extra.pending
		post.failed += extra.failed
		return settle(false)
	}
	if data.started > 0 || preCount > pre.pending {
		return ph.running
	}
	return ph.pending
}

// CalculatePhase derives a BackupSession's phase from what the controllers
// and Jobs recorded, in this order of precedence:
//   - a Skipped condition makes it Skipped;
//   - a passed deadline fails it at once;
//   - a failed pre-backup hook or snapshot fails it once the post hooks are
//     settled;
//   - it succeeds when TotalSnapshots snapshots succeeded, the post hooks are
//     settled without failure and every retention policy was applied or
//     failed to apply (a failed retention never fails the backup);
//   - it runs once any hook or snapshot has started; otherwise it is pending.
func (s *BackupSessionStatus) CalculatePhase() BackupSessionPhase {
	if common.IsTrue(s.Conditions, ConditionSessionSkipped) {
		return BackupSessionSkipped
	}
	if common.IsTrue(s.Conditions, ConditionDeadlineExceeded) {
		return BackupSessionFailed
	}
	// The session could not set up its work (no config, target gone, a
	// repository not ready): nothing will run, so it has failed.
	if common.IsFalse(s.Conditions, ConditionSnapshotsCreated) || common.IsFalse(s.Conditions, ConditionBackupJobsCreated) {
		return BackupSessionFailed
	}
	snapshotPhases := make([]storagev1alpha1.SnapshotPhase, len(s.Snapshots))
	for i, snap := range s.Snapshots {
		snapshotPhases[i] = snap.Phase
	}
	// Retention settles a successful session, but a retention that failed
	// does not fail the backup: the data was saved. The failure is the
	// RetentionPolicyApplied condition, an Event and a metric instead.
	var retention hookTally
	for _, r := range s.RetentionPolicy {
		if r.Phase != RetentionPolicyApplied && r.Phase != RetentionPolicyFailedToApply {
			retention.pending++
		}
	}
	return sessionPhase(phases[BackupSessionPhase]{BackupSessionPending, BackupSessionRunning, BackupSessionFailed, BackupSessionSucceeded},
		tallyHooks(s.Hooks.PreHooks), tallyHooks(s.Hooks.PostHooks), retention, len(s.Hooks.PreHooks),
		tallyData(snapshotPhases), s.TotalSnapshots)
}

// IsFinished reports whether a BackupSession phase is final.
func (p BackupSessionPhase) IsFinished() bool {
	return p == BackupSessionSucceeded || p == BackupSessionFailed || p == BackupSessionSkipped
}

// CalculatePhase derives a RestoreSession's phase:
//   - a False Valid condition makes it Invalid;
//   - a passed deadline fails it at once;
//   - a failed pre-restore hook or component fails it once the post hooks
//     are settled;
//   - it succeeds when TotalComponents components succeeded and the post
//     hooks are settled without failure;
//   - it runs once any hook or component has started; otherwise it is pending.
func (s *RestoreSessionStatus) CalculatePhase() RestorePhase {
	if common.IsFalse(s.Conditions, common.ConditionValid) {
		return RestoreInvalid
	}
	if common.IsTrue(s.Conditions, ConditionDeadlineExceeded) {
		return RestoreFailed
	}
	// The snapshot, a component or the restore Jobs could not be set up:
	// nothing will run, so the restore has failed (the message says why).
	if common.IsFalse(s.Conditions, ConditionSnapshotFound) || common.IsFalse(s.Conditions, ConditionRestoreJobsCreated) {
		return RestoreFailed
	}
	componentPhases := make([]storagev1alpha1.ComponentPhase, 0, len(s.Components))
	for _, c := range s.Components {
		componentPhases = append(componentPhases, c.Phase)
	}
	return sessionPhase(phases[RestorePhase]{RestorePending, RestoreRunning, RestoreFailed, RestoreSucceeded},
		tallyHooks(s.Hooks.PreHooks), tallyHooks(s.Hooks.PostHooks), hookTally{}, len(s.Hooks.PreHooks),
		tallyData(componentPhases), s.TotalComponents)
}

// IsFinished reports whether a RestoreSession phase is final.
func (p RestorePhase) IsFinished() bool {
	return p == RestoreSucceeded || p == RestoreFailed || p == RestoreInvalid
}

// CalculatePhase derives a BackupConfiguration's phase: Invalid when the
// Valid condition is False (the spec must change), Ready when the target,
// backends, repositories and schedulers are all in place, else NotReady.
func (s *BackupConfigurationStatus) CalculatePhase() BackupConfigurationPhase {
	if common.IsFalse(s.Conditions, common.ConditionValid) {
		return BackupConfigurationInvalid
	}
	if common.AllTrue(s.Conditions, ConditionTargetFound, ConditionBackendsReady, ConditionRepositoriesReady, ConditionSchedulersReady) {
		return BackupConfigurationReady
	}
	return BackupConfigurationNotReady
}
