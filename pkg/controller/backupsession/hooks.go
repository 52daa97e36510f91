package backupsession

import (
	"context"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller/internal/hookrun"
	"github.com/cairnbackup/cairn/pkg/controller/internal/jobwatch"
	"github.com/cairnbackup/cairn/pkg/controller/internal/workloop"
	"github.com/cairnbackup/cairn/pkg/jobs"
)

// Conditions and reasons of a session's hooks.
const (
	// ConditionPreBackupHooks is False when a preBackup hook failed: no
	// data was backed up.
	ConditionPreBackupHooks = "PreBackupHooksSucceeded"
	// ConditionPostBackupHooks is False when a postBackup hook failed.
	ConditionPostBackupHooks = "PostBackupHooksSucceeded"

	ReasonPreHookFailed  = "PreBackupHookFailed"
	ReasonPostHookFailed = "PostBackupHookFailed"
)

var (
	preHooks  = hookrun.Conditions{Type: ConditionPreBackupHooks, FailedReason: ReasonPreHookFailed, NoData: "no data was backed up"}
	postHooks = hookrun.Conditions{Type: ConditionPostBackupHooks, FailedReason: ReasonPostHookFailed}
)

// preBackupHooks runs the session's preBackup hooks, one after another,
// before any Snapshot or Job exists. It reports true once the API holds
// every one as Succeeded (so a restarted operator never runs one again);
// otherwise the sync returns with res and comes back when a hook ends.
func (c *Controller) preBackupHooks(ctx context.Context, bs *corev1alpha1.BackupSession, p *plan, st *corev1alpha1.BackupSessionStatus) (bool, workloop.Result) {
	h := p.session.Hooks
	if h == nil || len(h.PreBackup)+len(h.PostBackup) == 0 {
		return true, workloop.Done()
	}
	if st.Hooks.PreHooks == nil && st.Hooks.PostHooks == nil {
		st.Hooks.PreHooks, st.Hooks.PostHooks = hookrun.Statuses(h.PreBackup), hookrun.Statuses(h.PostBackup)
	}
	l := c.hookList(bs, "pre", "preBackup", p.config.Spec.Target, nil)
	l.Infos, l.Status, l.Persisted = h.PreBackup, st.Hooks.PreHooks, bs.Status.Hooks.PreHooks
	return c.hooks.Pre(ctx, l, preHooks, c.hookReport(bs, st))
}

// postBackupHooks runs the postBackup hooks once the data step ended (the
// Snapshots are final, or the session failed and its runner pods are
// gone), each by its executionPolicy, and returns when to look again.
func (c *Controller) postBackupHooks(ctx context.Context, bs *corev1alpha1.BackupSession, st *corev1alpha1.BackupSessionStatus) workloop.Result {
	if !hookrun.Pending(st.Hooks.PostHooks) || c.hooks.Running(hookrun.StageKey(bs, "pre")) {
		return workloop.Done()
	}
	ended, failed := c.dataEnded(bs, st)
	if !ended {
		return workloop.Done()
	}
	var infos []corev1alpha1.HookInfo
	var target common.TypedObjectReference
	if bc, err := c.configs.BackupConfigurations(bs.Namespace).Get(bs.Spec.Invoker.Name); err == nil {
		target = bc.Spec.Target
		for _, s := range bc.Spec.Sessions {
			if s.Name == bs.Spec.Session && s.Hooks != nil {
				infos = s.Hooks.PostBackup
			}
		}
	}
	outcome := corev1alpha1.BackupSessionSucceeded
	if failed {
		outcome = corev1alpha1.BackupSessionFailed
	}
	l := c.hookList(bs, "post", "postBackup", target, map[string]string{"SESSION_PHASE": string(outcome)})
	l.Infos, l.Status, l.Persisted = infos, st.Hooks.PostHooks, bs.Status.Hooks.PostHooks
	return c.hooks.Post(ctx, l, failed, postHooks, c.hookReport(bs, st))
}

// hookReport sets a hook condition on st, with a Warning Event for a
// failure.
func (c *Controller) hookReport(bs *corev1alpha1.BackupSession, st *corev1alpha1.BackupSessionStatus) hookrun.Report {
	return hookrun.Reporter(c.recorder, bs, func(t string, ok bool, reason, msg string) { c.setCondition(bs, st, t, ok, reason, msg) })
}

// dataEnded reports whether the backup's data step is over and whether it
// failed: a preBackup hook failed (nothing ran), every Snapshot is final,
// or the session failed or was skipped otherwise (setup, deadline) and no
// runner pod is left.
func (c *Controller) dataEnded(bs *corev1alpha1.BackupSession, st *corev1alpha1.BackupSessionStatus) (ended, failed bool) {
	if hookrun.AnyFailed(st.Hooks.PreHooks) {
		return true, true
	}
	// Skipped after its pre hooks ran (another session or a restore took
	// the target meanwhile): the post hooks still run, as after a failure.
	if common.IsTrue(st.Conditions, corev1alpha1.ConditionDeadlineExceeded) || common.IsTrue(st.Conditions, corev1alpha1.ConditionSessionSkipped) ||
		common.IsFalse(st.Conditions, corev1alpha1.ConditionSnapshotsCreated) || common.IsFalse(st.Conditions, corev1alpha1.ConditionBackupJobsCreated) {
		pods, _ := c.pods.Pods(bs.Namespace).List(labels.SelectorFromSet(labels.Set{jobs.LabelBackupSession: bs.Name}))
		return jobwatch.Active(pods) == 0, true
	}
	if !common.IsTrue(st.Conditions, corev1alpha1.ConditionBackupJobsCreated) || len(st.Snapshots) == 0 {
		return false, false
	}
	for _, s := range st.Snapshots {
		switch s.Phase {
		case storagev1alpha1.SnapshotFailed:
			failed = true
		case storagev1alpha1.SnapshotSucceeded:
		default:
			return false, false
		}
	}
	return true, failed
}

// hookList is one of bs's hook lists, for hookrun.
func (c *Controller) hookList(bs *corev1alpha1.BackupSession, stage, name string, target common.TypedObjectReference, extra map[string]string) hookrun.List {
	return hookrun.NewList(bs, "BACKUP_SESSION", stage, name, target, extra, func() { c.loop.EnqueueName(bs.Namespace, bs.Name) })
}
