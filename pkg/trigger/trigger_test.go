package trigger

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/cairnbackup/cairn/client/clientset/versioned/fake"
	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/labels"
)

func config(paused bool) *corev1alpha1.BackupConfiguration {
	return &corev1alpha1.BackupConfiguration{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "app"},
		Spec: corev1alpha1.BackupConfigurationSpec{
			Paused:   paused,
			Sessions: []corev1alpha1.Session{{Name: "daily", RetryConfig: &corev1alpha1.RetryConfig{MaxRetry: 2}}},
		},
	}
}

func TestCreateTwiceInOneSecondGivesTwoSessions(t *testing.T) {
	c := fake.NewSimpleClientset(config(false))
	now := time.Unix(1700000000, 0)
	a, err := Create(context.Background(), c, "ns", "app", "daily", now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Create(context.Background(), c, "ns", "app", "daily", now)
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "app-daily-1700000000" || b.Name != "app-daily-1700000000-2" {
		t.Fatalf("names %q, %q", a.Name, b.Name)
	}
	if a.Spec.Invoker.Kind != "BackupConfiguration" || a.Spec.Invoker.Name != "app" || a.Spec.Session != "daily" || a.Spec.RetryLeft != 2 {
		t.Fatalf("spec %+v", a.Spec)
	}
	if a.Labels[labels.Config] != "app" || a.Labels[labels.Session] != "daily" {
		t.Fatalf("labels %v", a.Labels)
	}
}

func TestCreateRefusesWithAReason(t *testing.T) {
	ctx := context.Background()
	if _, err := Create(ctx, fake.NewSimpleClientset(config(true)), "ns", "app", "daily", time.Now()); !errors.Is(err, ErrPaused) {
		t.Fatalf("paused: %v", err)
	}
	_, err := Create(ctx, fake.NewSimpleClientset(config(false)), "ns", "app", "hourly", time.Now())
	if !errors.Is(err, ErrNoSession) || !strings.Contains(err.Error(), "daily") {
		t.Fatalf("unknown session: %v", err)
	}
	if _, err := Create(ctx, fake.NewSimpleClientset(), "ns", "app", "daily", time.Now()); err == nil || !strings.Contains(err.Error(), "ns/app") {
		t.Fatalf("missing config: %v", err)
	}
}

// restore is a RestoreSession of namespace ns holding the backups of
// config app while in phase.
func restore(name string, phase corev1alpha1.RestorePhase) *corev1alpha1.RestoreSession {
	return &corev1alpha1.RestoreSession{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Status: corev1alpha1.RestoreSessionStatus{Phase: phase, PausedBackups: []common.TypedObjectReference{
			{APIGroup: corev1alpha1.GroupName, Kind: "BackupConfiguration", Name: "app", Namespace: "ns"}}},
	}
}

func TestCreateNothingWhileARestoreHoldsTheBackups(t *testing.T) {
	ctx := context.Background()
	c := fake.NewSimpleClientset(config(false), restore("undo", corev1alpha1.RestoreRunning))
	_, err := Create(ctx, c, "ns", "app", "daily", time.Now())
	if !errors.Is(err, ErrRestoreRunning) || !strings.Contains(err.Error(), "RestoreSession undo") {
		t.Fatalf("while restoring: %v", err)
	}
	if list, _ := c.CoreV1alpha1().BackupSessions("ns").List(ctx, metav1.ListOptions{}); len(list.Items) != 0 {
		t.Fatalf("created %d BackupSessions while a restore held the backups", len(list.Items))
	}
	// A finished restore holds nothing, and one of another config neither.
	c = fake.NewSimpleClientset(config(false), restore("done", corev1alpha1.RestoreSucceeded), restore("failed", corev1alpha1.RestoreFailed))
	if _, err := Create(ctx, c, "ns", "app", "daily", time.Now()); err != nil {
		t.Fatalf("after the restore: %v", err)
	}
	other := restore("other", corev1alpha1.RestoreRunning)
	other.Status.PausedBackups[0].Name = "db"
	c = fake.NewSimpleClientset(config(false), other)
	if _, err := Create(ctx, c, "ns", "app", "daily", time.Now()); err != nil {
		t.Fatalf("a restore of another config's target: %v", err)
	}
}

func TestCreateWithoutListRightsLeavesTheCheckToTheController(t *testing.T) {
	c := fake.NewSimpleClientset(config(false), restore("undo", corev1alpha1.RestoreRunning))
	c.PrependReactor("list", "restoresessions", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: corev1alpha1.GroupName, Resource: "restoresessions"}, "", errors.New("no rule"))
	})
	if _, err := Create(context.Background(), c, "ns", "app", "daily", time.Now()); err != nil {
		t.Fatalf("a trigger Role without list on RestoreSessions: %v", err)
	}
}
