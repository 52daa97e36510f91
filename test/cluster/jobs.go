package cluster

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// WaitJob waits until the Job succeeds. When it fails or the deadline
// passes, the error carries what a person would look at next: the Job's
// conditions, each pod's phase and container states, the namespace's
// warning events and the pods' last log lines.
func (c *Cluster) WaitJob(ctx context.Context, ns, name string, timeout time.Duration) error {
	var failed string
	err := waitFor(ctx, timeout, fmt.Sprintf("job %s/%s to complete", ns, name), nil, func(ctx context.Context) (bool, string) {
		j, err := c.client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, cond := range j.Status.Conditions {
			if cond.Status != corev1.ConditionTrue {
				continue
			}
			switch cond.Type {
			case batchv1.JobComplete:
				return true, ""
			case batchv1.JobFailed:
				failed = cond.Reason + ": " + cond.Message
				return true, ""
			}
		}
		return false, c.podSummary(ctx, ns, "job-name="+name)
	})
	if err == nil && failed == "" {
		return nil
	}
	if err == nil {
		err = fmt.Errorf("job %s/%s failed (%s)", ns, name, failed)
	}
	return fmt.Errorf("%w\n%s", err, c.Diagnose(ctx, ns, "job-name="+name))
}

// podSummary is one line per pod matching selector: phase and container
// states, for "last state" messages.
func (c *Cluster) podSummary(ctx context.Context, ns, selector string) string {
	pods, err := c.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return err.Error()
	}
	if len(pods.Items) == 0 {
		return "no pods yet"
	}
	var parts []string
	for _, p := range pods.Items {
		s := p.Name + " " + string(p.Status.Phase)
		for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
			switch {
			case cs.State.Waiting != nil:
				s += fmt.Sprintf(" %s waiting %s %s", cs.Name, cs.State.Waiting.Reason, cs.State.Waiting.Message)
			case cs.State.Terminated != nil:
				s += fmt.Sprintf(" %s exited %d %s", cs.Name, cs.State.Terminated.ExitCode, cs.State.Terminated.Reason)
			case cs.State.Running != nil:
				s += " " + cs.Name + " running"
			}
		}
		for _, cond := range p.Status.Conditions {
			if cond.Status != corev1.ConditionTrue && cond.Message != "" {
				s += fmt.Sprintf(" (%s: %s)", cond.Type, cond.Message)
			}
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// Diagnose describes the pods matching selector in ns: their states, the
// warning events of the namespace and the last 20 log lines of each
// container. Tests print it when something does not come up.
func (c *Cluster) Diagnose(ctx context.Context, ns, selector string) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	var b strings.Builder
	fmt.Fprintf(&b, "pods: %s\n", c.podSummary(ctx, ns, selector))
	if evs, err := c.client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{}); err == nil {
		sort.Slice(evs.Items, func(i, j int) bool { return evs.Items[i].LastTimestamp.Before(&evs.Items[j].LastTimestamp) })
		for _, e := range evs.Items {
			if e.Type == corev1.EventTypeWarning {
				fmt.Fprintf(&b, "event: %s %s: %s\n", e.InvolvedObject.Name, e.Reason, e.Message)
			}
		}
	}
	pods, err := c.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return b.String()
	}
	lines := int64(20)
	for _, p := range pods.Items {
		for _, ctr := range p.Spec.Containers {
			raw, err := c.client.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: ctr.Name, TailLines: &lines}).DoRaw(ctx)
			if err != nil {
				fmt.Fprintf(&b, "logs %s/%s: %v\n", p.Name, ctr.Name, err)
				continue
			}
			fmt.Fprintf(&b, "logs %s/%s:\n%s\n", p.Name, ctr.Name, strings.TrimRight(string(raw), "\n"))
		}
	}
	return b.String()
}

// DefaultStorageClass returns the name of the StorageClass marked default.
// The error says which add-on provides one when there is none.
func (c *Cluster) DefaultStorageClass(ctx context.Context) (string, error) {
	list, err := c.client.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	for _, sc := range list.Items {
		if sc.Annotations["storageclass.kubernetes.io/is-default-class"] == "true" {
			return sc.Name, nil
		}
	}
	return "", fmt.Errorf("the cluster has no default StorageClass (%d classes): the local-path add-on is not installed (Options.NoAddons, or test/cluster/addons/localpath missing)", len(list.Items))
}
