// Package jobwatch reads the Jobs and pods a session runs, to tell when
// their work cannot finish and why: a Job that failed (and how its
// container ended: OOMKilled, an exit code, eviction, a deadline), a
// container that can never start (an image that cannot be pulled, a
// missing Secret), a pod nobody can schedule. Backup and restore sessions
// share it, so both fail for the same causes with the same words.
package jobwatch

import (
	"context"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Condition reports whether a Job has condition t set True.
func Condition(j *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// FailureOf says why a Job failed, from its condition and its pods'
// container states (OOMKilled, an exit code, eviction, a deadline).
func FailureOf(j *batchv1.Job, pods []*corev1.Pod) string {
	var why []string
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
			why = append(why, strings.TrimSpace(c.Reason+": "+c.Message))
		}
	}
	for _, p := range pods {
		if p.Status.Reason != "" {
			why = append(why, fmt.Sprintf("pod %s %s: %s", p.Name, p.Status.Reason, p.Status.Message))
		}
		for _, cs := range p.Status.ContainerStatuses {
			if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
				msg := fmt.Sprintf("container %s ended with %s (exit code %d)", cs.Name, t.Reason, t.ExitCode)
				if t.Message != "" {
					msg += ": " + strings.TrimSpace(lastLine(t.Message))
				}
				why = append(why, msg)
			}
		}
	}
	if len(why) == 0 {
		return "no reason given"
	}
	return strings.Join(why, "; ")
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// PodStuck reports a container that cannot start and will not by waiting.
func PodStuck(p *corev1.Pod) string {
	for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		if w := cs.State.Waiting; w != nil {
			switch w.Reason {
			case "ErrImagePull", "ImagePullBackOff", "InvalidImageName":
				return fmt.Sprintf("image %s cannot be pulled (%s: %s)", cs.Image, w.Reason, w.Message)
			case "CreateContainerConfigError", "CreateContainerError":
				return fmt.Sprintf("container cannot be created (%s: %s)", w.Reason, w.Message)
			}
		}
	}
	return ""
}

// Unscheduled returns since when a pod waits to be scheduled and why.
func Unscheduled(p *corev1.Pod) (time.Time, string) {
	if p.Spec.NodeName != "" {
		return time.Time{}, ""
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return c.LastTransitionTime.Time, c.Message
		}
	}
	return time.Time{}, ""
}

// Active counts the pods that have not ended (neither Succeeded nor Failed).
func Active(pods []*corev1.Pod) int { return ActiveOn(pods, nil) }

// Delete deletes a Job with its pods (background propagation); a Job
// already gone is no error.
func Delete(ctx context.Context, kube kubernetes.Interface, j *batchv1.Job) error {
	bg := metav1.DeletePropagationBackground
	err := kube.BatchV1().Jobs(j.Namespace).Delete(ctx, j.Name, metav1.DeleteOptions{PropagationPolicy: &bg})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("stopping Job %s: %w", j.Name, err)
	}
	return nil
}

// Stop deletes the Jobs that have not ended yet, so a session that is over
// leaves nothing running.
func Stop(ctx context.Context, kube kubernetes.Interface, js []*batchv1.Job) error {
	for _, j := range js {
		if j.DeletionTimestamp != nil || Condition(j, batchv1.JobComplete) || Condition(j, batchv1.JobFailed) {
			continue
		}
		if err := Delete(ctx, kube, j); err != nil {
			return err
		}
	}
	return nil
}
