package restoresession

import (
	"context"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller/internal/hookrun"
	"github.com/cairnbackup/cairn/pkg/controller/internal/jobwatch"
	"github.com/cairnbackup/cairn/pkg/controller/internal/workloop"
	"github.com/cairnbackup/cairn/pkg/jobs"
)

// Conditions and reasons of a restore's hooks.
const (
	// ConditionPreRestoreHooks is False when a preRestore hook failed: no
	// data was restored.
	ConditionPreRestoreHooks = "PreRestoreHooksSucceeded"
	// ConditionPostRestoreHooks is False when a postRestore hook failed.
	ConditionPostRestoreHooks = "PostRestoreHooksSucceeded"

	ReasonPreHookFailed  = "PreRestoreHookFailed"
	ReasonPostHookFailed = "PostRestoreHookFailed"
)

var (
	preHooks  = hookrun.Conditions{Type: ConditionPreRestoreHooks, FailedReason: ReasonPreHookFailed, NoData: "no data was restored"}
	postHooks = hookrun.Conditions{Type: ConditionPostRestoreHooks, FailedReason: ReasonPostHookFailed}
)

// preRestoreHooks runs the preRestore hooks, one after another, before any
// restore Job exists, and reports true once the API holds every one as
// Succeeded; otherwise the sync returns with res.
func (c *Controller) preRestoreHooks(ctx context.Context, rs *corev1alpha1.RestoreSession, st *corev1alpha1.RestoreSessionStatus, src *source) (bool, workloop.Result) {
	h := rs.Spec.Hooks
	if h == nil || len(h.PreRestore)+len(h.PostRestore) == 0 {
		return true, workloop.Done()
	}
	if st.Hooks.PreHooks == nil && st.Hooks.PostHooks == nil {
		st.Hooks.PreHooks, st.Hooks.PostHooks = hookrun.Statuses(h.PreRestore), hookrun.Statuses(h.PostRestore)
	}
	l := c.hookList(rs, "pre", "preRestore", restoreTarget(rs, src.snapshot), src.components, nil)
	l.Infos, l.Status, l.Persisted = h.PreRestore, st.Hooks.PreHooks, rs.Status.Hooks.PreHooks
	return c.hooks.Pre(ctx, l, preHooks, c.hookReport(rs, st))
}

// postRestoreHooks runs the postRestore hooks once the restore's data step
// ended, each by its executionPolicy, and returns when to look again.
func (c *Controller) postRestoreHooks(ctx context.Context, rs *corev1alpha1.RestoreSession, st *corev1alpha1.RestoreSessionStatus) workloop.Result {
	if !hookrun.Pending(st.Hooks.PostHooks) || rs.Spec.Hooks == nil || c.hooks.Running(hookrun.StageKey(rs, "pre")) {
		return workloop.Done()
	}
	ended, failed := c.dataEnded(rs, st)
	if !ended {
		return workloop.Done()
	}
	outcome := corev1alpha1.RestoreSucceeded
	if failed {
		outcome = corev1alpha1.RestoreFailed
	}
	var snap *storagev1alpha1.Snapshot
	if name := rs.Spec.DataSource.Snapshot; name != corev1alpha1.LatestSnapshot {
		snap, _ = c.snapshots.Snapshots(rs.Namespace).Get(name)
	}
	comps := make([]string, 0, len(st.Components))
	for name := range st.Components {
		comps = append(comps, name)
	}
	l := c.hookList(rs, "post", "postRestore", restoreTarget(rs, snap), comps, map[string]string{"SESSION_PHASE": string(outcome)})
	l.Infos, l.Status, l.Persisted = rs.Spec.Hooks.PostRestore, st.Hooks.PostHooks, rs.Status.Hooks.PostHooks
	return c.hooks.Post(ctx, l, failed, postHooks, c.hookReport(rs, st))
}

// hookReport sets a hook condition on st, with a Warning Event for a
// failure.
func (c *Controller) hookReport(rs *corev1alpha1.RestoreSession, st *corev1alpha1.RestoreSessionStatus) hookrun.Report {
	return hookrun.Reporter(c.recorder, rs, func(t string, ok bool, reason, msg string) { c.setCondition(rs, st, t, ok, reason, msg) })
}

// dataEnded reports whether the restore's data step is over and whether
// it failed: a preRestore hook failed, every component is final, or the
// restore failed otherwise and no restore pod is left.
func (c *Controller) dataEnded(rs *corev1alpha1.RestoreSession, st *corev1alpha1.RestoreSessionStatus) (ended, failed bool) {
	if hookrun.AnyFailed(st.Hooks.PreHooks) {
		return true, true
	}
	if common.IsTrue(st.Conditions, corev1alpha1.ConditionDeadlineExceeded) || common.IsFalse(st.Conditions, common.ConditionValid) ||
		common.IsFalse(st.Conditions, corev1alpha1.ConditionSnapshotFound) || common.IsFalse(st.Conditions, corev1alpha1.ConditionRestoreJobsCreated) {
		pods, _ := c.pods.Pods(rs.Namespace).List(labels.SelectorFromSet(labels.Set{jobs.LabelRestoreSession: rs.Name}))
		return jobwatch.Active(pods) == 0, true
	}
	if !common.IsTrue(st.Conditions, corev1alpha1.ConditionRestoreJobsCreated) || st.TotalComponents == 0 {
		return false, false
	}
	finished := int32(0)
	for _, comp := range st.Components {
		switch comp.Phase {
		case storagev1alpha1.ComponentFailed:
			failed = true
			finished++
		case storagev1alpha1.ComponentSucceeded:
			finished++
		}
	}
	return finished >= st.TotalComponents, failed
}

// restoreTarget is what rs restores into: its target, else the
// Snapshot's application (snap may be nil).
func restoreTarget(rs *corev1alpha1.RestoreSession, snap *storagev1alpha1.Snapshot) common.TypedObjectReference {
	if rs.Spec.Target != nil {
		return *rs.Spec.Target
	}
	if snap != nil {
		return snap.Spec.AppRef
	}
	return common.TypedObjectReference{}
}

// replicaPods names the StatefulSet pods of the components a restore
// touches (dump-pod-N is pod <name>-N), so a Pod executor's hook runs
// only in the replicas restored; nil for other targets.
func replicaPods(target common.TypedObjectReference, components []string) []string {
	if target.Kind != "StatefulSet" {
		return nil
	}
	prefix := strings.TrimSuffix(jobs.StatefulSetComponent(0), "0")
	var pods []string
	for _, comp := range components {
		if ordinal, ok := strings.CutPrefix(comp, prefix); ok {
			pods = append(pods, target.Name+"-"+ordinal)
		}
	}
	return pods
}

// hookList is one of rs's hook lists, for hookrun: Pod executors run in
// the restored replicas of a StatefulSet only.
func (c *Controller) hookList(rs *corev1alpha1.RestoreSession, stage, name string, target common.TypedObjectReference, components []string, extra map[string]string) hookrun.List {
	l := hookrun.NewList(rs, "RESTORE_SESSION", stage, name, target, extra, func() { c.loop.EnqueueName(rs.Namespace, rs.Name) })
	l.Pods = replicaPods(target, components)
	return l
}
