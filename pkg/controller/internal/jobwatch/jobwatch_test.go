package jobwatch

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

func TestFailureOfNamesTheCause(t *testing.T) {
	job := &batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{
		{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "DeadlineExceeded", Message: "Job was active longer than specified deadline"}}}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Status: corev1.PodStatus{
		Reason: "Evicted", Message: "The node was low on resource: memory.",
		ContainerStatuses: []corev1.ContainerStatus{{Name: "backup", State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: 12, Reason: "Error", Message: "first\ncairn: wrong password"}}}}}}
	got := FailureOf(job, []*corev1.Pod{pod})
	for _, want := range []string{"DeadlineExceeded", "pod p Evicted", "exit code 12", "cairn: wrong password"} {
		if !strings.Contains(got, want) {
			t.Errorf("FailureOf = %q, want it to mention %q", got, want)
		}
	}
	if strings.Contains(got, "first") {
		t.Errorf("FailureOf kept more than the termination message's last line: %q", got)
	}
	if !Condition(job, batchv1.JobFailed) || Condition(job, batchv1.JobComplete) {
		t.Fatal("Condition misread the Job")
	}
}

func TestPodStuckAndUnscheduled(t *testing.T) {
	waiting := func(reason string) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Image: "x:1",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}}}}
	}
	for reason, stuck := range map[string]bool{"ImagePullBackOff": true, "ErrImagePull": true, "CreateContainerConfigError": true, "ContainerCreating": false} {
		if got := PodStuck(waiting(reason)) != ""; got != stuck {
			t.Errorf("%s: stuck = %v, want %v", reason, got, stuck)
		}
	}
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
		LastTransitionTime: metav1.NewTime(since), Message: "0/1 nodes are available"}}}}
	if at, msg := Unscheduled(p); !at.Equal(since) || msg != "0/1 nodes are available" {
		t.Fatalf("Unscheduled = %v %q", at, msg)
	}
	p.Spec.NodeName = "n"
	if _, msg := Unscheduled(p); msg != "" {
		t.Fatal("a scheduled pod was reported unscheduled")
	}
	if Active([]*corev1.Pod{p, {Status: corev1.PodStatus{Phase: corev1.PodFailed}}}) != 1 {
		t.Fatal("Active miscounted")
	}
}

// TestNodeLost: a Node object whose kubelet stopped posting status (Ready
// Unknown, as the node controller sets it, or the unreachable taint) and a
// Node that was deleted both lose their pods; a Ready node, a NotReady
// node whose kubelet still reports, an unbound pod and an ended pod do
// not. Pods on a lost node are not waited for.
func TestNodeLost(t *testing.T) {
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	node := func(name string, ready corev1.ConditionStatus, taints ...corev1.Taint) {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{Taints: taints},
			Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready,
				Message: "Kubelet stopped posting node status.", LastTransitionTime: metav1.NewTime(time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC))}}}}
		if err := idx.Add(n); err != nil {
			t.Fatal(err)
		}
	}
	node("ready", corev1.ConditionTrue)
	node("kubelet-reports-not-ready", corev1.ConditionFalse)
	node("silent", corev1.ConditionUnknown)
	node("tainted", corev1.ConditionTrue, corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute})
	nodes := corelisters.NewNodeLister(idx)
	pod := func(node string, phase corev1.PodPhase) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "runner-on-" + node}, Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: phase}}
	}
	for _, tc := range []struct {
		pod  *corev1.Pod
		want string
	}{
		{pod("ready", corev1.PodRunning), ""},
		{pod("kubelet-reports-not-ready", corev1.PodRunning), ""},
		{pod("", corev1.PodPending), ""},
		{pod("deleted", corev1.PodSucceeded), ""},
		{pod("deleted", corev1.PodRunning), "node deleted is gone"},
		{pod("silent", corev1.PodRunning), "node silent is unreachable since 10:00:00: Kubelet stopped posting node status."},
		{pod("tainted", corev1.PodRunning), "node tainted is unreachable"},
	} {
		got := NodeLost(tc.pod, nodes)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("NodeLost(%s) = %q, want %q", tc.pod.Name, got, tc.want)
		}
	}
	if NodeLost(pod("deleted", corev1.PodRunning), nil) != "" {
		t.Error("NodeLost without a node lister reported a loss")
	}
	pods := []*corev1.Pod{pod("ready", corev1.PodRunning), pod("silent", corev1.PodRunning), pod("deleted", corev1.PodRunning), pod("ready", corev1.PodFailed)}
	if got := ActiveOn(pods, nodes); got != 1 {
		t.Errorf("ActiveOn = %d, want 1: only the pod on the Ready node can still end", got)
	}
	if got := Active(pods); got != 3 {
		t.Errorf("Active = %d, want 3", got)
	}

	n := &corev1.Node{Status: corev1.NodeStatus{Images: []corev1.ContainerImage{{Names: []string{"big"}}}}}
	n.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}
	if _, err := TrimNode(n); err != nil || n.Status.Images != nil || n.ManagedFields != nil {
		t.Errorf("TrimNode kept %v and %v (err %v)", n.Status.Images, n.ManagedFields, err)
	}
}

func TestDisruptedNamesTheCause(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC))
	evicted := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}, Status: corev1.PodStatus{Phase: corev1.PodRunning,
		Conditions: []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "EvictionByEvictionAPI", Message: "Eviction API: evicting"}}}}
	deleted := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	done := deleted.DeepCopy()
	done.Status.Phase = corev1.PodSucceeded
	for _, tc := range []struct {
		pod  *corev1.Pod
		want string
	}{
		{evicted, "evicted through the Eviction API (a node drain or another eviction) (EvictionByEvictionAPI: Eviction API: evicting)"},
		{deleted, "was deleted before it finished"},
		{done, ""},
		{&corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning}}, ""},
	} {
		if got := Disrupted(tc.pod); got != tc.want && !strings.HasSuffix(got, tc.want) || (tc.want == "") != (got == "") {
			t.Errorf("Disrupted = %q, want %q", got, tc.want)
		}
	}
}
