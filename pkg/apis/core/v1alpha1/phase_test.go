package v1alpha1

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

func snaps(phases ...storagev1alpha1.SnapshotPhase) []SnapshotStatus {
	out := make([]SnapshotStatus, len(phases))
	for i, p := range phases {
		out[i] = SnapshotStatus{Name: string(rune('a' + i)), Phase: p}
	}
	return out
}

func hooks(phases ...HookPhase) []HookExecutionStatus {
	out := make([]HookExecutionStatus, len(phases))
	for i, p := range phases {
		out[i] = HookExecutionStatus{Name: string(rune('a' + i)), Phase: p}
	}
	return out
}

func trueCond(t string) []metav1.Condition {
	return []metav1.Condition{{Type: t, Status: metav1.ConditionTrue, Reason: "Test"}}
}

const (
	sOK   = storagev1alpha1.SnapshotSucceeded
	sFail = storagev1alpha1.SnapshotFailed
	sRun  = storagev1alpha1.SnapshotRunning
	sPend = storagev1alpha1.SnapshotPending
)

func TestBackupSessionPhase(t *testing.T) {
	applied := []RetentionPolicyApplyStatus{{Repository: "r", Phase: RetentionPolicyApplied}}
	cases := []struct {
		name string
		st   BackupSessionStatus
		want BackupSessionPhase
	}{
		{"new", BackupSessionStatus{TotalSnapshots: 1}, BackupSessionPending},
		{"snapshots created, none started", BackupSessionStatus{TotalSnapshots: 2, Snapshots: snaps(sPend, sPend)}, BackupSessionPending},
		{"pre hook done, data not started", BackupSessionStatus{TotalSnapshots: 1, Hooks: HookStatus{PreHooks: hooks(HookSucceeded)}}, BackupSessionRunning},
		{"one running", BackupSessionStatus{TotalSnapshots: 2, Snapshots: snaps(sRun, sPend)}, BackupSessionRunning},
		{"one of two done", BackupSessionStatus{TotalSnapshots: 2, Snapshots: snaps(sOK, sRun)}, BackupSessionRunning},
		{"all done, retention pending", BackupSessionStatus{TotalSnapshots: 1, Snapshots: snaps(sOK),
			RetentionPolicy: []RetentionPolicyApplyStatus{{Repository: "r", Phase: RetentionPolicyPending}}}, BackupSessionRunning},
		{"all done, retention applied", BackupSessionStatus{TotalSnapshots: 1, Snapshots: snaps(sOK), RetentionPolicy: applied}, BackupSessionSucceeded},
		{"all done, retention failed: the backup still succeeded", BackupSessionStatus{TotalSnapshots: 1, Snapshots: snaps(sOK),
			RetentionPolicy: []RetentionPolicyApplyStatus{{Repository: "r", Phase: RetentionPolicyFailedToApply}}}, BackupSessionSucceeded},
		{"all done, post hook pending", BackupSessionStatus{TotalSnapshots: 1, Snapshots: snaps(sOK), RetentionPolicy: applied,
			Hooks: HookStatus{PostHooks: hooks(HookPending)}}, BackupSessionRunning},
		{"all done, post hook failed", BackupSessionStatus{TotalSnapshots: 1, Snapshots: snaps(sOK), RetentionPolicy: applied,
			Hooks: HookStatus{PostHooks: hooks(HookFailed)}}, BackupSessionFailed},
		{"all done, post hook skipped", BackupSessionStatus{TotalSnapshots: 1, Snapshots: snaps(sOK), RetentionPolicy: applied,
			Hooks: HookStatus{PostHooks: hooks(HookSkipped, HookSucceeded)}}, BackupSessionSucceeded},
		{"snapshot failed", BackupSessionStatus{TotalSnapshots: 2, Snapshots: snaps(sOK, sFail)}, BackupSessionFailed},
		{"snapshot failed, post hook still to run", BackupSessionStatus{TotalSnapshots: 2, Snapshots: snaps(sOK, sFail),
			Hooks: HookStatus{PostHooks: hooks(HookPending)}}, BackupSessionRunning},
		{"pre hook failed", BackupSessionStatus{TotalSnapshots: 1, Hooks: HookStatus{PreHooks: hooks(HookFailed)}}, BackupSessionFailed},
		{"deadline beats running work", BackupSessionStatus{TotalSnapshots: 1, Snapshots: snaps(sRun),
			Hooks: HookStatus{PostHooks: hooks(HookPending)}, Conditions: trueCond(ConditionDeadlineExceeded)}, BackupSessionFailed},
		{"skipped", BackupSessionStatus{TotalSnapshots: 1, Conditions: trueCond(ConditionSessionSkipped)}, BackupSessionSkipped},
		{"zero total never succeeds", BackupSessionStatus{Snapshots: snaps(sOK)}, BackupSessionRunning},
		{"snapshots could not be created", BackupSessionStatus{Conditions: []metav1.Condition{{Type: ConditionSnapshotsCreated, Status: metav1.ConditionFalse}}}, BackupSessionFailed},
		{"jobs could not be created", BackupSessionStatus{TotalSnapshots: 1, Snapshots: snaps(sRun),
			Conditions: []metav1.Condition{{Type: ConditionBackupJobsCreated, Status: metav1.ConditionFalse}}}, BackupSessionFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.st.CalculatePhase(); got != tc.want {
				t.Fatalf("phase = %s, want %s", got, tc.want)
			}
		})
	}
}

func comps(phases ...storagev1alpha1.ComponentPhase) map[string]ComponentRestoreStatus {
	m := map[string]ComponentRestoreStatus{}
	for i, p := range phases {
		m[string(rune('a'+i))] = ComponentRestoreStatus{Phase: p}
	}
	return m
}

func TestRestoreSessionPhase(t *testing.T) {
	const (
		cOK   = storagev1alpha1.ComponentSucceeded
		cFail = storagev1alpha1.ComponentFailed
		cRun  = storagev1alpha1.ComponentRunning
	)
	invalid := []metav1.Condition{{Type: common.ConditionValid, Status: metav1.ConditionFalse, Reason: common.ReasonInvalidSpec}}
	cases := []struct {
		name string
		st   RestoreSessionStatus
		want RestorePhase
	}{
		{"new", RestoreSessionStatus{TotalComponents: 1}, RestorePending},
		{"invalid", RestoreSessionStatus{Conditions: invalid, Components: comps(cRun)}, RestoreInvalid},
		{"running", RestoreSessionStatus{TotalComponents: 2, Components: comps(cOK, cRun)}, RestoreRunning},
		{"done", RestoreSessionStatus{TotalComponents: 2, Components: comps(cOK, cOK)}, RestoreSucceeded},
		{"done, post hook pending", RestoreSessionStatus{TotalComponents: 1, Components: comps(cOK), Hooks: HookStatus{PostHooks: hooks(HookPending)}}, RestoreRunning},
		{"done, post hook failed", RestoreSessionStatus{TotalComponents: 1, Components: comps(cOK), Hooks: HookStatus{PostHooks: hooks(HookFailed)}}, RestoreFailed},
		{"component failed", RestoreSessionStatus{TotalComponents: 2, Components: comps(cOK, cFail)}, RestoreFailed},
		{"pre hook failed", RestoreSessionStatus{TotalComponents: 1, Hooks: HookStatus{PreHooks: hooks(HookFailed)}}, RestoreFailed},
		{"pre hook ran", RestoreSessionStatus{TotalComponents: 1, Hooks: HookStatus{PreHooks: hooks(HookSucceeded)}}, RestoreRunning},
		{"deadline", RestoreSessionStatus{TotalComponents: 1, Components: comps(cRun), Conditions: trueCond(ConditionDeadlineExceeded)}, RestoreFailed},
		{"no such snapshot", RestoreSessionStatus{Conditions: []metav1.Condition{{Type: ConditionSnapshotFound, Status: metav1.ConditionFalse}}}, RestoreFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.st.CalculatePhase(); got != tc.want {
				t.Fatalf("phase = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestBackupConfigurationPhase(t *testing.T) {
	ready := func(types ...string) []metav1.Condition {
		var out []metav1.Condition
		for _, ty := range types {
			out = append(out, metav1.Condition{Type: ty, Status: metav1.ConditionTrue, Reason: "Test"})
		}
		return out
	}
	all := ready(ConditionTargetFound, ConditionBackendsReady, ConditionRepositoriesReady, ConditionSchedulersReady)
	cases := []struct {
		name  string
		conds []metav1.Condition
		want  BackupConfigurationPhase
	}{
		{"nothing yet", nil, BackupConfigurationNotReady},
		{"all ready", all, BackupConfigurationReady},
		{"scheduler missing", ready(ConditionTargetFound, ConditionBackendsReady, ConditionRepositoriesReady), BackupConfigurationNotReady},
		{"invalid beats ready", append(all, metav1.Condition{Type: common.ConditionValid, Status: metav1.ConditionFalse, Reason: "X"}), BackupConfigurationInvalid},
	}
	for _, tc := range cases {
		s := BackupConfigurationStatus{Conditions: tc.conds}
		if got := s.CalculatePhase(); got != tc.want {
			t.Errorf("%s: phase = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestIsFinished(t *testing.T) {
	for p, want := range map[BackupSessionPhase]bool{BackupSessionPending: false, BackupSessionRunning: false,
		BackupSessionSucceeded: true, BackupSessionFailed: true, BackupSessionSkipped: true} {
		if p.IsFinished() != want {
			t.Errorf("%s.IsFinished() = %v", p, !want)
		}
	}
	for p, want := range map[RestorePhase]bool{RestorePending: false, RestoreRunning: false,
		RestoreSucceeded: true, RestoreFailed: true, RestoreInvalid: true} {
		if p.IsFinished() != want {
			t.Errorf("%s.IsFinished() = %v", p, !want)
		}
	}
}
