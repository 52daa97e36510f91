package restoresession

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/names"
)

// TestRestoreJobWithoutAPodSaysWhy: a restore Job whose pod admission
// refuses (here the cluster's default Pod Security level, which no
// namespace label shows) never gets a pod, and the Job controller retries
// for ever. Past PodlessGrace the restore fails with the Job controller's
// FailedCreate message and how to fix a Pod Security refusal; before it,
// and without such an Event, it waits and looks again.
func TestRestoreJobWithoutAPodSaysWhy(t *testing.T) {
	k, c := setup("old")
	f := newFixture(t, k, c)
	f.sync()
	name := names.RestoreJob("restore", jobs.ComponentDump)
	job, err := f.Kube.BatchV1().Jobs("app").Get(f.Ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	job.UID = "job-uid"
	job.CreationTimestamp = metav1.NewTime(f.Now.Add(-5 * time.Second))
	if job, err = f.Kube.BatchV1().Jobs("app").Update(f.Ctx, job, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if why, again := f.c.podRefused(f.Ctx, job, 0, f.Now); why != "" || again != PodlessGrace-5*time.Second {
		t.Fatalf("a Job of 5 s without a pod: %q, look again in %s", why, again)
	}
	if why, again := f.c.podRefused(f.Ctx, job, 0, f.Now.Add(time.Minute)); why != "" || again != PodlessGrace {
		t.Fatalf("without a FailedCreate Event: %q, look again in %s", why, again)
	}
	refusal := `pods "restore-dump-x" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true, unrestricted capabilities (container "restore" must not include "CHOWN", "FOWNER" in securityContext.capabilities.add)`
	for i, ev := range []*corev1.Event{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "other-job"}, InvolvedObject: corev1.ObjectReference{UID: "other"}, Reason: "FailedCreate", Message: "not ours"},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "ours"}, InvolvedObject: corev1.ObjectReference{Kind: "Job", Name: name, UID: "job-uid"}, Reason: "FailedCreate",
			Message: refusal, LastTimestamp: metav1.NewTime(f.Now)},
	} {
		if _, err := f.Kube.CoreV1().Events("app").Create(f.Ctx, ev, metav1.CreateOptions{}); err != nil {
			t.Fatal(i, err)
		}
	}
	f.Now = f.Now.Add(PodlessGrace)
	f.Refresh()
	rs := f.sync()
	comp := rs.Status.Components[jobs.ComponentDump]
	if rs.Status.Phase != corev1alpha1.RestoreFailed || !strings.Contains(comp.Error, "restore Job "+name+" cannot create its pod: "+refusal) ||
		!strings.Contains(comp.Error, "pod-security.kubernetes.io/enforce=baseline") || !strings.Contains(comp.Error, `restoreOwners: "false"`) {
		t.Fatalf("phase %s, component %+v", rs.Status.Phase, comp)
	}
}
