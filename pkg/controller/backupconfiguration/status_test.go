package backupconfiguration

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller"
)

func sessionSnapshot(name, config, session string, phase storagev1alpha1.SnapshotPhase, at time.Time) *storagev1alpha1.Snapshot {
	t := metav1.NewTime(at)
	return &storagev1alpha1.Snapshot{
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: name, Labels: map[string]string{controller.LabelConfig: config, controller.LabelSession: session}},
		Spec:       storagev1alpha1.SnapshotSpec{Repository: "web-repo", Session: session},
		Status:     storagev1alpha1.SnapshotStatus{Phase: phase, SnapshotTime: &t},
	}
}

// TestLastSuccessfulBackupTimePerSession: each session shows its newest
// Succeeded Snapshot's time, not a failed or another config's one, and a
// steady state writes nothing.
func TestLastSuccessfulBackupTimePerSession(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	bc := backupConfig(true)
	kubeObjs, cairnObjs := workingSetup(bc,
		sessionSnapshot("web-daily-1", "web", "daily", storagev1alpha1.SnapshotSucceeded, t0),
		sessionSnapshot("web-daily-2", "web", "daily", storagev1alpha1.SnapshotSucceeded, t0.Add(24*time.Hour)),
		sessionSnapshot("web-daily-3", "web", "daily", storagev1alpha1.SnapshotFailed, t0.Add(48*time.Hour)),
		sessionSnapshot("other-daily-1", "other", "daily", storagev1alpha1.SnapshotSucceeded, t0.Add(72*time.Hour)))
	f := newFixture(t, kubeObjs, cairnObjs)
	if _, err := f.sync("app", "web"); err != nil {
		t.Fatal(err)
	}
	f.setRepositoryReady("app", "web-repo")
	if _, err := f.sync("app", "web"); err != nil {
		t.Fatal(err)
	}
	got := f.config("app", "web").Status.Sessions
	if len(got) != 1 || got[0].LastSuccessfulBackupTime == nil || !got[0].LastSuccessfulBackupTime.Time.Equal(t0.Add(24*time.Hour)) {
		t.Fatalf("sessions %+v, want daily's lastSuccessfulBackupTime %v", got, t0.Add(24*time.Hour))
	}
	writes, err := f.sync("app", "web")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range writes {
		if w.GetResource().Resource == "backupconfigurations" {
			t.Fatalf("a second sync wrote %v", w)
		}
	}
}
