package logs

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/cairnbackup/cairn/client/clientset/versioned/fake"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/internal/fixture"
)

func pod(name, label, session string, created time.Duration) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: fixture.NS, Name: name, CreationTimestamp: fixture.At(created), Labels: map[string]string{label: session}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "backup"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodSucceeded},
	}
}

func TestWriteShowsEveryPodOfTheSession(t *testing.T) {
	ctx := context.Background()
	c := fake.NewSimpleClientset(fixture.Session("web-1", "web", "nightly", corev1alpha1.BackupSessionSucceeded, 0),
		&corev1alpha1.RestoreSession{ObjectMeta: metav1.ObjectMeta{Namespace: fixture.NS, Name: "undo"}})
	kube := kubefake.NewSimpleClientset(
		pod("retention", jobs.LabelBackupSession, "web-1", time.Minute),
		pod("backup-dump", jobs.LabelBackupSession, "web-1", 0),
		pod("other", jobs.LabelBackupSession, "web-2", 0),
	)
	var b strings.Builder
	if err := Write(ctx, kube, c, fixture.NS, "web-1", &b, Options{}); err != nil {
		t.Fatal(err)
	}
	// The fake API server answers every log request with "fake logs".
	want := "==> pod/backup-dump container backup (Succeeded) <==\nfake logs==> pod/retention container backup (Succeeded) <==\nfake logs"
	if b.String() != want {
		t.Fatalf("got %q", b.String())
	}
	b.Reset()
	if err := Write(ctx, kube, c, fixture.NS, "undo", &b, Options{TailLines: 10}); err != nil || !strings.Contains(b.String(), "has no pods") {
		t.Fatalf("restore without pods: %q, %v", b.String(), err)
	}
	if sel, err := Selector(ctx, c, fixture.NS, "undo"); err != nil || sel != jobs.LabelRestoreSession+"=undo" {
		t.Fatalf("selector %q, %v", sel, err)
	}
	if err := Write(ctx, kube, c, fixture.NS, "nosuch", &b, Options{}); !errors.Is(err, ErrNoSession) {
		t.Fatalf("missing session: %v", err)
	}
}
