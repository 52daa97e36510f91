package restoresession

import (
	"context"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/klog/v2"
)

// PodlessGrace is how long a restore Job may be without a pod before the
// controller looks for why: the Job controller creates the pod within
// moments, so a Job still without one was refused by admission.
const PodlessGrace = 15 * time.Second

// podRefused says why restore Job job has created no pod, from the Job
// controller's FailedCreate Event: admission refused it (a Pod Security
// level, a ResourceQuota, a webhook), and the Job controller would retry
// for ever while the restore waited. Without such an Event it returns
// when to look again; a Job with a pod, or an active one, returns
// nothing. The namespace label is checked before the Job is made
// (ownersForbidden); this catches what a label does not show (a cluster's
// default Pod Security level, other admission).
func (c *Controller) podRefused(ctx context.Context, job *batchv1.Job, podCount int, now time.Time) (string, time.Duration) {
	if podCount > 0 || job.Status.Active > 0 {
		return "", 0
	}
	if age := now.Sub(job.CreationTimestamp.Time); age < PodlessGrace {
		return "", PodlessGrace - age
	}
	sel := fields.Set{"involvedObject.uid": string(job.UID), "reason": "FailedCreate"}.AsSelector().String()
	evs, err := c.kube.CoreV1().Events(job.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Cannot read the Events of a restore Job without a pod", "job", klog.KObj(job), "err", err)
		return "", PodlessGrace
	}
	var last *corev1.Event
	for i := range evs.Items {
		e := &evs.Items[i]
		if e.InvolvedObject.UID == job.UID && e.Reason == "FailedCreate" && (last == nil || eventTime(e).After(eventTime(last))) {
			last = e
		}
	}
	if last == nil {
		return "", PodlessGrace
	}
	msg := fmt.Sprintf("restore Job %s cannot create its pod: %s", job.Name, last.Message)
	if strings.Contains(last.Message, "PodSecurity") {
		msg += fmt.Sprintf(". The Pod Security level namespace %s enforces refuses the restore pod: label the namespace %s=baseline for the restore "+
			"(a restore that sets other users' owners runs as root with the capabilities CHOWN and FOWNER; the restore task's param restoreOwners: \"false\" avoids that), then create the RestoreSession again",
			job.Namespace, LabelPodSecurityEnforce)
	}
	return msg, 0
}

// eventTime is when an Event last happened.
func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}
