package v1alpha1

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func comps(phases ...ComponentPhase) map[string]Component {
	m := map[string]Component{}
	for i, p := range phases {
		m[string(rune('a'+i))] = Component{Phase: p}
	}
	return m
}

func TestSnapshotPhase(t *testing.T) {
	cases := []struct {
		name  string
		total int32
		comps map[string]Component
		want  SnapshotPhase
	}{
		{"nothing reported", 2, nil, SnapshotPending},
		{"only pending", 2, comps(ComponentPending, ComponentPending), SnapshotPending},
		{"one running", 2, comps(ComponentRunning), SnapshotRunning},
		{"one of two done", 2, comps(ComponentSucceeded), SnapshotRunning},
		{"all done", 2, comps(ComponentSucceeded, ComponentSucceeded), SnapshotSucceeded},
		{"failure wins over success", 3, comps(ComponentSucceeded, ComponentFailed, ComponentSucceeded), SnapshotFailed},
		{"failure while others run", 2, comps(ComponentRunning, ComponentFailed), SnapshotFailed},
		{"unknown total never succeeds", 0, comps(ComponentSucceeded), SnapshotRunning},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := SnapshotStatus{TotalComponents: tc.total, Components: tc.comps}
			if got := s.CalculatePhase(); got != tc.want {
				t.Fatalf("phase = %s, want %s", got, tc.want)
			}
		})
	}
}

func cond(t string, s metav1.ConditionStatus) metav1.Condition {
	return metav1.Condition{Type: t, Status: s, Reason: "Test"}
}

func TestRepositoryPhase(t *testing.T) {
	cases := []struct {
		name  string
		conds []metav1.Condition
		want  RepositoryPhase
	}{
		{"no conditions", nil, RepositoryNotReady},
		{"storage found, not initialised", []metav1.Condition{cond(ConditionStorageFound, metav1.ConditionTrue)}, RepositoryNotReady},
		{"initialised", []metav1.Condition{cond(ConditionStorageFound, metav1.ConditionTrue), cond(ConditionRepositoryInitialized, metav1.ConditionTrue)}, RepositoryReady},
		{"storage lost", []metav1.Condition{cond(ConditionStorageFound, metav1.ConditionFalse), cond(ConditionRepositoryInitialized, metav1.ConditionTrue)}, RepositoryNotReady},
	}
	for _, tc := range cases {
		s := RepositoryStatus{Conditions: tc.conds}
		if got := s.CalculatePhase(); got != tc.want {
			t.Errorf("%s: phase = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestBackupStoragePhase(t *testing.T) {
	cases := []struct {
		name  string
		conds []metav1.Condition
		want  BackupStoragePhase
	}{
		{"no conditions", nil, BackupStorageNotReady},
		{"initialised", []metav1.Condition{cond(ConditionStorageInitialized, metav1.ConditionTrue)}, BackupStorageReady},
		{"initialised with secret", []metav1.Condition{cond(ConditionBackendSecretFound, metav1.ConditionTrue), cond(ConditionStorageInitialized, metav1.ConditionTrue)}, BackupStorageReady},
		{"secret deleted later", []metav1.Condition{cond(ConditionBackendSecretFound, metav1.ConditionFalse), cond(ConditionStorageInitialized, metav1.ConditionTrue)}, BackupStorageNotReady},
		{"init failed", []metav1.Condition{cond(ConditionStorageInitialized, metav1.ConditionFalse)}, BackupStorageNotReady},
	}
	for _, tc := range cases {
		s := BackupStorageStatus{Conditions: tc.conds}
		if got := s.CalculatePhase(); got != tc.want {
			t.Errorf("%s: phase = %s, want %s", tc.name, got, tc.want)
		}
	}
}
