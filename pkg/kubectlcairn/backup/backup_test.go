package backup

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/client/clientset/versioned/fake"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/internal/fixture"
	"github.com/cairnbackup/cairn/pkg/labels"
	"github.com/cairnbackup/cairn/pkg/trigger"
)

func TestTriggerPicksTheOnlySession(t *testing.T) {
	ctx := context.Background()
	c := fake.NewSimpleClientset(fixture.Config("web", "nightly"), fixture.Config("db", "hourly", "daily"))
	bs, err := Trigger(ctx, c, fixture.NS, "web", "", fixture.Epoch)
	if err != nil {
		t.Fatal(err)
	}
	if bs.Name != "web-nightly-1796299200" || bs.Spec.Session != "nightly" || bs.Labels[labels.Config] != "web" {
		t.Fatalf("%s %+v %v", bs.Name, bs.Spec, bs.Labels)
	}
	_, err = Trigger(ctx, c, fixture.NS, "db", "", fixture.Epoch)
	if !errors.Is(err, ErrSessionRequired) || !strings.Contains(err.Error(), "hourly, daily") || !strings.Contains(err.Error(), "--session") {
		t.Fatalf("two sessions: %v", err)
	}
	if bs, err := Trigger(ctx, c, fixture.NS, "db", "daily", fixture.Epoch); err != nil || bs.Spec.Session != "daily" {
		t.Fatalf("named session: %v, %v", bs, err)
	}
	if _, err := Trigger(ctx, c, fixture.NS, "nosuch", "", fixture.Epoch); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing config: %v", err)
	}
	paused := fixture.Config("p", "nightly")
	paused.Spec.Paused = true
	if _, err := Trigger(ctx, fake.NewSimpleClientset(paused), fixture.NS, "p", "", fixture.Epoch); !errors.Is(err, trigger.ErrPaused) {
		t.Fatalf("paused: %v", err)
	}
	if _, err := Trigger(ctx, fake.NewSimpleClientset(fixture.Config("none")), fixture.NS, "none", "", fixture.Epoch); !errors.Is(err, trigger.ErrNoSession) {
		t.Fatalf("no sessions: %v", err)
	}
}

func TestWaitReportsPhaseChangesAndTheReason(t *testing.T) {
	ctx := context.Background()
	at := func(p corev1alpha1.BackupSessionPhase) *corev1alpha1.BackupSession {
		return fixture.Session("web-nightly-1", "web", "nightly", p, 0)
	}
	c := fake.NewSimpleClientset()
	fixture.Sequence(c, "backupsessions", at(""), at(corev1alpha1.BackupSessionRunning), at(corev1alpha1.BackupSessionRunning), at(corev1alpha1.BackupSessionSucceeded))
	var seen []string
	bs, err := Wait(ctx, c, fixture.NS, "web-nightly-1", time.Millisecond, func(bs *corev1alpha1.BackupSession) { seen = append(seen, string(bs.Status.Phase)) })
	if err != nil || bs.Status.Phase != corev1alpha1.BackupSessionSucceeded || strings.Join(seen, ",") != ",Running,Succeeded" {
		t.Fatalf("%v, %v, seen %q", bs, err, seen)
	}

	failed := at(corev1alpha1.BackupSessionFailed)
	failed.Status.Conditions = []metav1.Condition{
		{Type: corev1alpha1.ConditionSnapshotsCreated, Status: metav1.ConditionTrue, Message: "fine"},
		{Type: corev1alpha1.ConditionDeadlineExceeded, Status: metav1.ConditionTrue, Message: "the backup ran longer than its 5m0s backupTimeout"},
	}
	c = fake.NewSimpleClientset()
	fixture.Sequence(c, "backupsessions", failed)
	_, err = Wait(ctx, c, fixture.NS, "web-nightly-1", time.Millisecond, nil)
	if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "backupTimeout") || strings.Contains(err.Error(), "fine") {
		t.Fatalf("failed: %v", err)
	}
	c = fake.NewSimpleClientset()
	fixture.Sequence(c, "backupsessions", at(corev1alpha1.BackupSessionSkipped))
	if _, err := Wait(ctx, c, fixture.NS, "web-nightly-1", time.Millisecond, nil); !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "kubectl cairn logs web-nightly-1") {
		t.Fatalf("skipped without a reason: %v", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	c = fake.NewSimpleClientset()
	fixture.Sequence(c, "backupsessions", at(corev1alpha1.BackupSessionRunning))
	_, err = Wait(cctx, c, fixture.NS, "web-nightly-1", time.Millisecond, func(*corev1alpha1.BackupSession) { cancel() })
	if err == nil || !strings.Contains(err.Error(), "phase Running") {
		t.Fatalf("interrupted: %v", err)
	}
}
