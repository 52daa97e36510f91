// Package storageopstest plays the part of the Job controller and the
// kubelet for tests of the controllers that run storage Jobs: it ends a
// Job and leaves its pod's termination message, as a real run would.
package storageopstest

import (
	"context"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cairnbackup/cairn/pkg/blob"
)

// FinishJob marks Job ns/name Complete, or Failed when res reports a
// failure, with one pod whose container ended with res as its message.
func FinishJob(ctx context.Context, kube kubernetes.Interface, ns, name string, res blob.JobResult) error {
	job, err := kube.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	cond := batchv1.JobComplete
	if res.Reason != "" {
		cond = batchv1.JobFailed
	}
	job.Status.Conditions = []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue}}
	if _, err := kube.BatchV1().Jobs(ns).UpdateStatus(ctx, job, metav1.UpdateOptions{}); err != nil {
		return err
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-pod", Labels: map[string]string{batchv1.JobNameLabel: name}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{Message: string(res.Encode())}}}}}}
	_, err = kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	return err
}

// Jobs lists the Jobs of ns and loads them into a Job informer's indexer,
// as its watch would.
func Jobs(ctx context.Context, kube kubernetes.Interface, ns string, indexer interface{ Update(any) error }) ([]batchv1.Job, error) {
	list, err := kube.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for i := range list.Items {
		if err := indexer.Update(&list.Items[i]); err != nil {
			return nil, err
		}
	}
	return list.Items, nil
}
