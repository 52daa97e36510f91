package backupsession

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller/internal/jobwatch"
	"github.com/cairnbackup/cairn/pkg/controller/internal/workloop"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/names"
)

// ConditionRunnersHealthy is False when the operator saw a runner fail in a
// way the runner could not report itself (killed, never started, deleted,
// evicted, its node lost).
const ConditionRunnersHealthy = "RunnersHealthy"

// ConditionComponentsSucceeded is False when a component failed, with each
// failed component's error, so the session's status and its Failed Event
// say why without a look at its Snapshots.
const ConditionComponentsSucceeded = "ComponentsSucceeded"

// follow checks a running session's deadline, Jobs and pods, records in the
// Snapshots what the runners could not, and updates the Snapshots' phases.
func (c *Controller) follow(ctx context.Context, bs *corev1alpha1.BackupSession, st *corev1alpha1.BackupSessionStatus) (workloop.Result, error) {
	now := c.now()
	if st.Deadline != nil && !now.Before(st.Deadline.Time) && !common.IsTrue(st.Conditions, corev1alpha1.ConditionDeadlineExceeded) {
		c.setCondition(bs, st, corev1alpha1.ConditionDeadlineExceeded, true, ReasonDeadlineExceeded,
			fmt.Sprintf("the backup did not finish by its deadline %s (the session's backupTimeout); its Jobs were stopped", st.Deadline.UTC().Format(time.RFC3339)))
	}
	next := time.Duration(0)
	var problems, failed []string
	fresh := map[string]*storagev1alpha1.Snapshot{}
	for i := range st.Snapshots {
		ss := &st.Snapshots[i]
		snap, err := c.snapshots.Snapshots(bs.Namespace).Get(ss.Name)
		if apierrors.IsNotFound(err) {
			ss.Phase = storagev1alpha1.SnapshotFailed
			problems = append(problems, fmt.Sprintf("Snapshot %s was deleted while the backup ran", ss.Name))
			continue
		}
		if err != nil {
			return workloop.Result{}, err
		}
		snap = snap.DeepCopy() // failures found below are applied to this copy too
		for _, comp := range strings.Split(snap.Annotations[ComponentsAnnotation], ",") {
			if comp == "" {
				continue
			}
			problems = append(problems, c.disruptions(bs, snap, comp)...)
			msg, wait, err := c.checkRunner(ctx, bs, snap, comp, now)
			if err != nil {
				return workloop.Result{}, err
			}
			if msg != "" {
				problems = append(problems, msg)
				if err := c.failComponent(ctx, snap, comp, msg); err != nil {
					return workloop.Result{}, err
				}
				if snap.Status.Components == nil {
					snap.Status.Components = map[string]storagev1alpha1.Component{}
				}
				snap.Status.Components[comp] = storagev1alpha1.Component{Phase: storagev1alpha1.ComponentFailed, Error: msg}
			}
			if wait > 0 && (next == 0 || wait < next) {
				next = wait
			}
		}
		failed = append(failed, failedComponents(snap)...)
		phase := snap.Status.CalculatePhase()
		if phase != snap.Status.Phase {
			if err := c.patchSnapshotStatus(ctx, snap, map[string]any{"phase": phase, "lastUpdateTime": metav1.NewTime(now)}); err != nil {
				return workloop.Result{}, err
			}
			snap.Status.Phase = phase
			fresh[snap.Name] = snap
		}
		ss.Phase = phase
	}
	if msg := accumulate(conditionMessage(st, ConditionRunnersHealthy), problems); len(problems) > 0 {
		c.setCondition(bs, st, ConditionRunnersHealthy, false, ReasonJobFailed, msg)
	}
	if msg := failureSummary(st, failed); msg != "" {
		c.setCondition(bs, st, ConditionComponentsSucceeded, false, ReasonFailed, msg)
	}
	if allSucceeded(st) {
		wait, err := c.applyRetention(ctx, bs, st, fresh)
		if err != nil {
			return workloop.Result{}, err
		}
		if wait > 0 && (next == 0 || wait < next) {
			next = wait
		}
	}
	res := c.requeueForDeadline(st)
	if next > 0 && (res.RequeueAfter == 0 || next < res.RequeueAfter) {
		res.RequeueAfter = next
	}
	return res, nil
}

// allSucceeded reports that every Snapshot of the session succeeded.
func allSucceeded(st *corev1alpha1.BackupSessionStatus) bool {
	if len(st.Snapshots) == 0 || int32(len(st.Snapshots)) < st.TotalSnapshots {
		return false
	}
	for _, s := range st.Snapshots {
		if s.Phase != storagev1alpha1.SnapshotSucceeded {
			return false
		}
	}
	return true
}

// checkRunner looks at one component's Job and pods. It returns a failure
// the runner could not report itself ("" if none) and, for a pod waiting to
// be scheduled, when to look again.
func (c *Controller) checkRunner(ctx context.Context, bs *corev1alpha1.BackupSession, snap *storagev1alpha1.Snapshot, comp string, now time.Time) (string, time.Duration, error) {
	cur := snap.Status.Components[comp]
	if cur.Phase == storagev1alpha1.ComponentFailed || cur.Phase == storagev1alpha1.ComponentSucceeded {
		return "", 0, nil
	}
	name := names.BackupJob(bs.Name, snap.Spec.Repository, comp)
	job, err := c.jobs.Jobs(bs.Namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return fmt.Sprintf("backup Job %s (component %s) was deleted before it finished", name, comp), 0, nil
	}
	if err != nil {
		return "", 0, err
	}
	pods := c.runnerPods(bs, snap.Spec.Repository, comp)
	switch {
	case jobwatch.Condition(job, batchv1.JobFailed):
		return fmt.Sprintf("backup Job %s (component %s) failed: %s", name, comp, jobwatch.FailureOf(job, pods)), 0, nil
	case jobwatch.Condition(job, batchv1.JobComplete):
		// The runner reports before it exits; give its patch a moment.
		if job.Status.CompletionTime != nil && now.Sub(job.Status.CompletionTime.Time) > 30*time.Second {
			return fmt.Sprintf("backup Job %s (component %s) ended without reporting a result", name, comp), 0, nil
		}
		return "", 5 * time.Second, nil
	}
	for _, p := range pods {
		if msg := jobwatch.NodeLost(p, c.nodes); msg != "" {
			return c.stopJob(ctx, job, fmt.Sprintf("runner pod %s of component %s cannot finish: %s", p.Name, comp, msg))
		}
		if msg := jobwatch.PodStuck(p); msg != "" {
			return c.stopJob(ctx, job, fmt.Sprintf("runner pod %s of component %s: %s", p.Name, comp, msg))
		}
		if since, msg := jobwatch.Unscheduled(p); msg != "" {
			if left := c.pending - now.Sub(since); left > 0 {
				return "", left, nil
			}
			return c.stopJob(ctx, job, fmt.Sprintf("runner pod %s of component %s could not be scheduled for %s: %s", p.Name, comp, c.pending, msg))
		}
	}
	return "", 0, nil
}

// stopJob deletes a Job (and its pods) that cannot finish, returning msg.
func (c *Controller) stopJob(ctx context.Context, job *batchv1.Job, msg string) (string, time.Duration, error) {
	return msg, 0, jobwatch.Delete(ctx, c.kube, job)
}

// stopJobs deletes the session's Jobs that still run and returns how many
// of its pods are not gone yet.
func (c *Controller) stopJobs(ctx context.Context, bs *corev1alpha1.BackupSession) (int, error) {
	sel := labels.SelectorFromSet(labels.Set{jobs.LabelBackupSession: bs.Name})
	js, _ := c.jobs.Jobs(bs.Namespace).List(sel)
	if err := jobwatch.Stop(ctx, c.kube, js); err != nil {
		return 0, err
	}
	pods, _ := c.pods.Pods(bs.Namespace).List(sel)
	return jobwatch.ActiveOn(pods, c.nodes), nil
}

// disruptions says which runner pods of a component were evicted,
// preempted or deleted while their Job still ran: the runner can only
// report that it was interrupted, the pod says by what. Pods the operator
// stops itself (their Job deleted) are not news.
func (c *Controller) disruptions(bs *corev1alpha1.BackupSession, snap *storagev1alpha1.Snapshot, comp string) []string {
	job, err := c.jobs.Jobs(bs.Namespace).Get(names.BackupJob(bs.Name, snap.Spec.Repository, comp))
	if err != nil || job.DeletionTimestamp != nil {
		return nil
	}
	var out []string
	for _, p := range c.runnerPods(bs, snap.Spec.Repository, comp) {
		if why := jobwatch.Disrupted(p); why != "" {
			out = append(out, fmt.Sprintf("runner pod %s of component %s %s", p.Name, comp, why))
		}
	}
	return out
}

// runnerPods lists the pods of one component's backup Job.
func (c *Controller) runnerPods(bs *corev1alpha1.BackupSession, repository, comp string) []*corev1.Pod {
	pods, _ := c.pods.Pods(bs.Namespace).List(labels.SelectorFromSet(labels.Set{
		jobs.LabelBackupSession: bs.Name, jobs.LabelRepository: repository, jobs.LabelDataComponent: comp}))
	return pods
}

// accumulate adds to msg the problems it does not say yet, so a cause seen
// once (a pod evicted, gone by the next sync) stays in the condition.
func accumulate(msg string, problems []string) string {
	for _, p := range problems {
		if !strings.Contains(msg, p) {
			if msg != "" {
				msg += "; "
			}
			msg += p
		}
	}
	return msg
}

// onNode wakes the sessions with runner pods on a node that was lost
// (deleted, or its kubelet stopped posting status): they fail at once
// instead of waiting on pods that can no longer end.
func (c *Controller) onNode(obj any) {
	for _, key := range jobwatch.OnLostNode(obj, c.pods, c.nodes, jobs.LabelBackupSession) {
		c.loop.EnqueueName(key.Namespace, key.Name)
	}
}

// failedComponents describes the failed components of a Snapshot.
func failedComponents(snap *storagev1alpha1.Snapshot) []string {
	var out []string
	for name, comp := range snap.Status.Components {
		if comp.Phase == storagev1alpha1.ComponentFailed {
			out = append(out, fmt.Sprintf("Snapshot %s component %s: %s", snap.Name, name, comp.Error))
		}
	}
	sort.Strings(out)
	return out
}

// failureSummary joins the failed components' errors, leaving out those
// the RunnersHealthy condition already says (the operator writes what it
// saw into the component too).
func failureSummary(st *corev1alpha1.BackupSessionStatus, failed []string) string {
	seen := conditionMessage(st, ConditionRunnersHealthy)
	var out []string
	for _, f := range failed {
		if _, why, _ := strings.Cut(f, ": "); seen == "" || !strings.Contains(seen, why) {
			out = append(out, f)
		}
	}
	return strings.Join(out, "; ")
}
