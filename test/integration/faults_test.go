//go:build integration

package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/names"
	"github.com/cairnbackup/cairn/pkg/trigger"
)

// TestBackupFaultsEndTheSession: no session stays Running once its work
// cannot finish. A wrong repository password fails the session with a
// message that says so; a backup Job deleted mid-run fails it with that
// cause; and the next backup after both succeeds.
func TestBackupFaultsEndTheSession(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	e := newConfigEnv(ctx, t)
	if _, err := e.cairn.CoreV1alpha1().BackupConfigurations(e.ns).Create(ctx, func() *corev1alpha1.BackupConfiguration {
		bc := e.pvcConfig("faulty")
		bc.Spec.Sessions[0].Scheduler.Schedule = "0 3 1 1 *"
		return bc
	}(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitConfig(ctx, t, "faulty", 2*time.Minute, "Ready", isPhase(corev1alpha1.BackupConfigurationReady))
	first, err := trigger.Create(ctx, e.cairn, e.ns, "faulty", "minutely", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.waitBackup(ctx, t, first.Name)

	// The password changes under the repository: the next backup cannot open it.
	e.setPassword(ctx, t, "not-the-password")
	bad, err := trigger.Create(ctx, e.cairn, e.ns, "faulty", "minutely", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got := e.waitSessionEnd(ctx, t, bad.Name)
	if got.Status.Phase != corev1alpha1.BackupSessionFailed || !strings.Contains(strings.ToLower(e.componentErrors(ctx, t, bad.Name)), "password") {
		t.Fatalf("wrong password: phase %s, component errors %q", got.Status.Phase, e.componentErrors(ctx, t, bad.Name))
	}
	e.setPassword(ctx, t, "integration")

	// A Job deleted while it runs ends its session with that cause.
	doomed, err := trigger.Create(ctx, e.cairn, e.ns, "faulty", "minutely", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	job := names.BackupJob(doomed.Name, "faulty", jobs.ComponentDump)
	kube := e.c.Client()
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := kube.BatchV1().Jobs(e.ns).Get(ctx, job, metav1.GetOptions{})
		return err == nil, nil
	}); err != nil {
		t.Fatalf("backup Job %s never appeared", job)
	}
	bg := metav1.DeletePropagationBackground
	if err := kube.BatchV1().Jobs(e.ns).Delete(ctx, job, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
		t.Fatal(err)
	}
	got = e.waitSessionEnd(ctx, t, doomed.Name)
	t.Logf("session whose Job was deleted: %s (%s)", got.Status.Phase, e.componentErrors(ctx, t, doomed.Name))
	if got.Status.Phase == corev1alpha1.BackupSessionFailed {
		if errs := e.componentErrors(ctx, t, doomed.Name); !strings.Contains(errs, "deleted") {
			t.Fatalf("a deleted Job: component errors %q, want the deletion named", errs)
		}
	} else if got.Status.Phase != corev1alpha1.BackupSessionSucceeded {
		// The runner may have finished before the delete reached it.
		t.Fatalf("a deleted Job: phase %s", got.Status.Phase)
	}

	// And the repository is fine: the next backup succeeds.
	again, err := trigger.Create(ctx, e.cairn, e.ns, "faulty", "minutely", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.waitBackup(ctx, t, again.Name)
}

func (e *configEnv) setPassword(ctx context.Context, t *testing.T, password string) {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "password", Namespace: e.ns}, StringData: map[string]string{"CAIRN_PASSWORD": password}}
	if _, err := e.c.Client().CoreV1().Secrets(e.ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitSessionEnd waits until a BackupSession is final and returns it.
func (e *configEnv) waitSessionEnd(ctx context.Context, t *testing.T, name string) *corev1alpha1.BackupSession {
	t.Helper()
	var last *corev1alpha1.BackupSession
	err := wait.PollUntilContextTimeout(ctx, time.Second, 4*time.Minute, true, func(ctx context.Context) (bool, error) {
		bs, err := e.cairn.CoreV1alpha1().BackupSessions(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = bs
		return bs.Status.Phase.IsFinished(), nil
	})
	if err != nil {
		t.Fatalf("BackupSession %s is still %s after 4 minutes: a session must end once its work cannot finish\n%+v", name, last.Status.Phase, last.Status)
	}
	return last
}

// componentErrors joins the errors of a session's Snapshot components.
func (e *configEnv) componentErrors(ctx context.Context, t *testing.T, session string) string {
	t.Helper()
	snaps, err := e.cairn.StorageV1alpha1().Snapshots(e.ns).List(ctx, metav1.ListOptions{LabelSelector: jobs.LabelBackupSession + "=" + session})
	if err != nil {
		t.Fatal(err)
	}
	var errs []string
	for _, s := range snaps.Items {
		for name, c := range s.Status.Components {
			errs = append(errs, name+": "+c.Error)
		}
	}
	return strings.Join(errs, "; ")
}
