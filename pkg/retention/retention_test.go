package retention

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

func snap(name string, at time.Time, phase storagev1alpha1.SnapshotPhase, ids ...string) *storagev1alpha1.Snapshot {
	s := &storagev1alpha1.Snapshot{ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: storagev1alpha1.SnapshotStatus{Phase: phase, SnapshotTime: &metav1.Time{Time: at}, Components: map[string]storagev1alpha1.Component{}}}
	for i, id := range ids {
		s.Status.Components[string(rune('a'+i))] = storagev1alpha1.Component{DataMoverSnapshotID: id}
	}
	return s
}

func names(list []*storagev1alpha1.Snapshot) string {
	var n []string
	for _, s := range list {
		n = append(n, s.Name)
	}
	return strings.Join(n, ",")
}

func i32(v int32) *int32 { return &v }

func TestDecide(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	ok, bad, run := storagev1alpha1.SnapshotSucceeded, storagev1alpha1.SnapshotFailed, storagev1alpha1.SnapshotRunning
	snaps := []*storagev1alpha1.Snapshot{
		snap("s1", now.Add(-72*time.Hour), ok, "e1a", "e1b"),
		snap("s2", now.Add(-48*time.Hour), ok, "e2"),
		snap("s3", now.Add(-24*time.Hour), ok, "e3"),
		snap("s4", now.Add(-time.Hour), ok, "e4"),
		snap("f1", now.Add(-30*time.Hour), bad),
		snap("f2", now.Add(-20*time.Hour), bad),
		snap("r1", now.Add(-time.Minute), run),
	}
	cases := []struct {
		name                 string
		spec                 storagev1alpha1.RetentionPolicySpec
		keep, drop, dropFail string
		forget               string
	}{
		{"no rule keeps everything", storagev1alpha1.RetentionPolicySpec{}, "s1,s2,s3,s4", "", "", ""},
		{"last 2", storagev1alpha1.RetentionPolicySpec{SuccessfulSnapshots: &storagev1alpha1.SuccessfulSnapshotsKeepPolicy{Last: i32(2)}},
			"s4,s3", "s2,s1", "", "e1a,e1b,e2"},
		{"younger than 30h", storagev1alpha1.RetentionPolicySpec{MaxRetentionPeriod: "30h"}, "s4,s3", "s2,s1", "", "e1a,e1b,e2"},
		{"one failed kept", storagev1alpha1.RetentionPolicySpec{FailedSnapshots: &storagev1alpha1.FailedSnapshotsKeepPolicy{Last: i32(1)}},
			"s1,s2,s3,s4", "", "f1", ""},
	}
	for _, c := range cases {
		plan, err := Decide(snaps, &c.spec, now)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if names(plan.Keep) != c.keep || names(plan.Drop) != c.drop || names(plan.DropFailed) != c.dropFail ||
			strings.Join(plan.EngineSnapshots(), ",") != c.forget {
			t.Errorf("%s: keep %s drop %s dropFailed %s forget %v; want %s / %s / %s / %s", c.name,
				names(plan.Keep), names(plan.Drop), names(plan.DropFailed), plan.EngineSnapshots(), c.keep, c.drop, c.dropFail, c.forget)
		}
	}
	if _, err := Decide(snaps, &storagev1alpha1.RetentionPolicySpec{MaxRetentionPeriod: "soon"}, now); err == nil {
		t.Fatal("an invalid policy must be an error")
	}
}
