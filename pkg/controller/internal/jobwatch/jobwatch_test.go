package jobwatch

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
