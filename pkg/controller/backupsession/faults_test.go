package backupsession

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/names"
)

// node adds a Node object (no kubelet behind it) whose Ready condition is
// ready, as the node controller leaves it.
func (f *fixture) node(name string, ready corev1.ConditionStatus) {
	f.t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{
		Type: corev1.NodeReady, Status: ready, Reason: "NodeStatusUnknown", Message: "Kubelet stopped posting node status.",
		LastTransitionTime: metav1.NewTime(f.Now.Add(-time.Minute))}}}}
	if _, err := f.Kube.CoreV1().Nodes().Create(f.Ctx, n, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	f.Refresh()
}

// failedEvent returns the session's Failed Event, "" if none was recorded.
func (f *fixture) failedEvent() string {
	for {
		select {
		case e := <-f.Recorder.Events:
			if strings.Contains(e, ReasonFailed+" ") {
				return e
			}
		default:
			return ""
		}
	}
}

// TestNodeLostEndsTheSession: a runner pod bound to a node whose kubelet
// stopped posting status, or whose Node object is gone, can neither finish
// nor be stopped. The session fails at once, naming the node, and is final
// although the pod still shows Running; a Ready node changes nothing.
func TestNodeLostEndsTheSession(t *testing.T) {
	jobName := names.BackupJob("web-daily-1", "web-repo", jobs.ComponentDump)
	for _, tc := range []struct {
		name  string
		ready corev1.ConditionStatus // "" adds no Node object
		want  string
	}{
		{"kubelet stopped posting status", corev1.ConditionUnknown, "its node node-a is unreachable since 10:29:00: Kubelet stopped posting node status."},
		{"node deleted", "", "its node node-a is gone"},
		{"node ready", corev1.ConditionTrue, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, c := setup()
			f := newFixture(t, k, c)
			f.sync("web-daily-1")
			if tc.ready != "" {
				f.node("node-a", tc.ready)
			}
			f.addPod(jobName, corev1.PodRunning, func(p *corev1.Pod) { p.Spec.NodeName = "node-a" })
			f.setComponent(snapName, jobs.ComponentDump, storagev1alpha1.ComponentRunning, "")
			f.sync("web-daily-1")
			bs := f.session("web-daily-1")
			if tc.want == "" {
				if bs.Status.Phase != corev1alpha1.BackupSessionRunning {
					t.Fatalf("phase %s on a Ready node", bs.Status.Phase)
				}
				return
			}
			if bs.Status.Phase != corev1alpha1.BackupSessionFailed || !hasCondition(bs, ConditionRunnersHealthy, metav1.ConditionFalse, tc.want) {
				t.Fatalf("phase %s, conditions %+v; want Failed naming %q", bs.Status.Phase, bs.Status.Conditions, tc.want)
			}
			if comp := f.snapshot(snapName).Status.Components[jobs.ComponentDump]; comp.Phase != storagev1alpha1.ComponentFailed || !strings.Contains(comp.Error, tc.want) {
				t.Fatalf("component %+v", comp)
			}
			if _, err := f.Kube.BatchV1().Jobs("app").Get(f.Ctx, jobName, metav1.GetOptions{}); err == nil {
				t.Fatal("the Job of a runner on a lost node was not stopped")
			}
			if ev := f.failedEvent(); !strings.Contains(ev, tc.want) {
				t.Fatalf("Failed Event %q does not name the node", ev)
			}
		})
	}
}

// TestInterruptedRunnerSaysWhy: an evicted runner reports only that it was
// interrupted; the session's condition and its Failed Event say by what
// (the pod's DisruptionTarget condition), once the pod is gone, along with
// the runner's own words.
func TestInterruptedRunnerSaysWhy(t *testing.T) {
	jobName := names.BackupJob("web-daily-1", "web-repo", jobs.ComponentDump)
	k, c := setup()
	f := newFixture(t, k, c)
	f.sync("web-daily-1")
	gone := metav1.NewTime(f.Now)
	f.addPod(jobName, corev1.PodRunning, func(p *corev1.Pod) {
		p.DeletionTimestamp = &gone
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
			Reason: "EvictionByEvictionAPI", Message: "Eviction API: evicting"}}
	})
	f.setComponent(snapName, jobs.ComponentDump, storagev1alpha1.ComponentFailed, "interrupted (terminated signal received)")
	f.sync("web-daily-1")
	bs := f.session("web-daily-1")
	if bs.Status.Phase.IsFinished() {
		t.Fatalf("phase %s while the evicted runner pod is still terminating", bs.Status.Phase)
	}
	f.deletePods()
	f.sync("web-daily-1")
	bs = f.session("web-daily-1")
	if bs.Status.Phase != corev1alpha1.BackupSessionFailed {
		t.Fatalf("phase %s after the evicted pod went", bs.Status.Phase)
	}
	ev := f.failedEvent()
	for _, want := range []string{"evicted through the Eviction API", "EvictionByEvictionAPI", "component dump: interrupted (terminated signal received)"} {
		if !strings.Contains(ev, want) {
			t.Errorf("Failed Event %q does not say %q", ev, want)
		}
	}
}

// TestFailedComponentInTheEvent: a component the runner itself reports
// Failed (a wrong password) is named in the ComponentsSucceeded condition
// and the Failed Event, once, even when the operator also saw its Job fail.
func TestFailedComponentInTheEvent(t *testing.T) {
	k, c := setup()
	f := newFixture(t, k, c)
	f.sync("web-daily-1")
	f.setComponent(snapName, jobs.ComponentDump, storagev1alpha1.ComponentFailed, "wrong password: the password in Secret app/pw does not open the repository")
	f.sync("web-daily-1")
	bs := f.session("web-daily-1")
	if bs.Status.Phase != corev1alpha1.BackupSessionFailed || !hasCondition(bs, ConditionComponentsSucceeded, metav1.ConditionFalse, "component dump: wrong password") {
		t.Fatalf("phase %s, conditions %+v", bs.Status.Phase, bs.Status.Conditions)
	}
	if ev := f.failedEvent(); strings.Count(ev, "wrong password") != 1 {
		t.Fatalf("Failed Event %q: want the runner's error once", ev)
	}
}
