package restoresession

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

// TestNodeLostEndsTheRestore: a restore pod bound to a node whose kubelet
// stopped posting status (Ready Unknown, as the node controller leaves
// it), or whose Node object is gone, can neither finish nor be stopped.
// The restore fails at once, naming the node, its Job is deleted, and it
// is final although the pod still shows Running; a Ready node, or a
// NotReady one whose kubelet still reports, changes nothing.
func TestNodeLostEndsTheRestore(t *testing.T) {
	jobName := names.RestoreJob("restore", jobs.ComponentDump)
	for _, tc := range []struct {
		name  string
		ready corev1.ConditionStatus // "" adds no Node object
		want  string
	}{
		{"kubelet stopped posting status", corev1.ConditionUnknown, "restore pod " + jobName + "-x cannot finish: its node node-a is unreachable since 09:59:00: Kubelet stopped posting node status."},
		{"node deleted", "", "its node node-a is gone (the Node object was deleted)"},
		{"node ready", corev1.ConditionTrue, ""},
		{"kubelet reports not ready", corev1.ConditionFalse, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, c := setup("old")
			f := newFixture(t, k, c)
			f.Now = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
			f.sync()
			if tc.ready != "" {
				n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{
					Type: corev1.NodeReady, Status: tc.ready, Message: "Kubelet stopped posting node status.", LastTransitionTime: metav1.NewTime(f.Now.Add(-time.Minute))}}}}
				if _, err := f.Kube.CoreV1().Nodes().Create(f.Ctx, n, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			rs, _ := f.Cairn.CoreV1alpha1().RestoreSessions("app").Get(f.Ctx, "restore", metav1.GetOptions{})
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: jobName + "-x", Labels: jobs.RestoreLabels(rs, jobs.ComponentDump)},
				Spec: corev1.PodSpec{NodeName: "node-a"}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
			if _, err := f.Kube.CoreV1().Pods("app").Create(f.Ctx, pod, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			f.Refresh()
			rs = f.sync()
			_, jobErr := f.Kube.BatchV1().Jobs("app").Get(f.Ctx, jobName, metav1.GetOptions{})
			if tc.want == "" {
				if rs.Status.Phase.IsFinished() || jobErr != nil {
					t.Fatalf("phase %s, Job %v on a node that still reports", rs.Status.Phase, jobErr)
				}
				return
			}
			comp := rs.Status.Components[jobs.ComponentDump]
			if rs.Status.Phase != corev1alpha1.RestoreFailed || comp.Phase != storagev1alpha1.ComponentFailed || !strings.Contains(comp.Error, tc.want) {
				t.Fatalf("phase %s, component %+v; want Failed naming %q", rs.Status.Phase, comp, tc.want)
			}
			if jobErr == nil {
				t.Fatal("the Job of a restore pod on a lost node was not stopped")
			}
			var failed string
			for len(f.Recorder.Events) > 0 {
				if e := <-f.Recorder.Events; strings.Contains(e, ReasonFailed+" ") {
					failed = e
				}
			}
			if !strings.Contains(failed, tc.want) {
				t.Fatalf("Failed Event %q does not name the node", failed)
			}
		})
	}
}
