package trigger

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/client/clientset/versioned/fake"
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
