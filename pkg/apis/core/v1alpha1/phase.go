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

// finish turns the outcome of the data step into a final phase once the post
// hooks are settled: while any post hook is pending, the session still runs
// (post hooks run after success and after failure, by their policy).
func finish[P ~string](dataFailed bool, post hookTally, running, failed, succeeded P) P {
	switch {
	case post.pending > 0:
		return running
	case dataFailed || post.failed > 0:
		return failed
	default:
		return succeeded
	}
}

// CalculatePhase derives a BackupSession's phase from what the controllers
// and Jobs recorded, in this order of precedence:
//   - a Skipped condition makes it Skipped;
//   - a passed deadline fails it at once;
//   - a failed pre-backup hook or snapshot fails it once the post hooks are
//     settled;
//   - it succeeds when TotalSnapshots snapshots succeeded, the post hooks are
//     settled without failure and every retention policy was applied;
//   - it runs once any hook or snapshot has started; otherwise it is pending.
func (s *BackupSessionStatus) CalculatePhase() BackupSessionPhase {
	if common.IsTrue(s.Conditions, ConditionSessionSkipped) {
		return BackupSessionSkipped
	}
	if common.IsTrue(s.Conditions, ConditionDeadlineExceeded) {
		return BackupSessionFailed
	}
	pre, post := tallyHooks(s.Hooks.PreHooks), tallyHooks(s.Hooks.PostHooks)
	succeeded, started, failed := 0, 0, false
	for _, snap := range s.Snapshots {
		switch snap.Phase {
		case storagev1alpha1.SnapshotFailed:
			failed = true
			started++
		case storagev1alpha1.SnapshotSucceeded:
			succeeded++
			started++
		case storagev1alpha1.SnapshotRunning:
			started++
		}
	}
	if pre.failed > 0 || failed {
		return finish(true, post, BackupSessionRunning, BackupSessionFailed, BackupSessionSucceeded)
	}
	if s.TotalSnapshots > 0 && int32(succeeded) >= s.TotalSnapshots {
		for _, r := range s.RetentionPolicy {
			switch r.Phase {
			case RetentionPolicyFailedToApply:
				post.failed++
			case RetentionPolicyApplied:
			default:
				post.pending++
			}
		}
		return finish(false, post, BackupSessionRunning, BackupSessionFailed, BackupSessionSucceeded)
	}
	if started > 0 || len(s.Hooks.PreHooks) > pre.pending {
		return BackupSessionRunning
	}
	return BackupSessionPending
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
	pre, post := tallyHooks(s.Hooks.PreHooks), tallyHooks(s.Hooks.PostHooks)
	succeeded, started, failed := 0, 0, false
	for _, c := range s.Components {
		switch c.Phase {
		case storagev1alpha1.ComponentFailed:
			failed = true
			started++
		case storagev1alpha1.ComponentSucceeded:
			succeeded++
			started++
		case storagev1alpha1.ComponentRunning:
			started++
		}
	}
	if pre.failed > 0 || failed {
		return finish(true, post, RestoreRunning, RestoreFailed, RestoreSucceeded)
	}
	if s.TotalComponents > 0 && int32(succeeded) >= s.TotalComponents {
		return finish(false, post, RestoreRunning, RestoreFailed, RestoreSucceeded)
	}
	if started > 0 || len(s.Hooks.PreHooks) > pre.pending {
		return RestoreRunning
	}
	return RestorePending
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
