package backupsession

import (
	"context"
	"time"

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
	ReasonHooksSucceeded = "HooksSucceeded"
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
	prog, wait, _ := c.hooks.Advance(ctx, c.hookList(bs, "pre", "preBackup", h.PreBackup, st.Hooks.PreHooks, bs.Status.Hooks.PreHooks, p.config.Spec.Target, nil, false))
	if failed := hookrun.NewlyFailed(st.Hooks.PreHooks, bs.Status.Hooks.PreHooks); len(failed) > 0 {
		msg := hookrun.Describe("preBackup", failed) + "; no data was backed up"
		c.setCondition(bs, st, ConditionPreBackupHooks, false, ReasonPreHookFailed, msg)
		c.recorder.Event(bs, "Warning", ReasonPreHookFailed, msg)
	}
	switch prog {
	case hookrun.Done:
		if len(h.PreBackup) > 0 && !common.IsTrue(st.Conditions, ConditionPreBackupHooks) {
			c.setCondition(bs, st, ConditionPreBackupHooks, true, ReasonHooksSucceeded, "every preBackup hook succeeded")
		}
		return true, workloop.Done()
	case hookrun.Failed:
		return false, workloop.Done()
	}
	return false, after(wait)
}

// postBackupHooks runs the postBackup hooks once the data step ended (the
// Snapshots are final, or the session failed and its runner pods are
// gone), each by its executionPolicy, and returns when to look again.
func (c *Controller) postBackupHooks(ctx context.Context, bs *corev1alpha1.BackupSession, st *corev1alpha1.BackupSessionStatus) workloop.Result {
	if !hookrun.Pending(st.Hooks.PostHooks) {
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
	hookrun.SkipByPolicy(infos, st.Hooks.PostHooks, failed)
	outcome := corev1alpha1.BackupSessionSucceeded
	if failed {
		outcome = corev1alpha1.BackupSessionFailed
	}
	prog, wait, _ := c.hooks.Advance(ctx, c.hookList(bs, "post", "postBackup", infos, st.Hooks.PostHooks, bs.Status.Hooks.PostHooks, target,
		map[string]string{"SESSION_PHASE": string(outcome)}, true))
	if newly := hookrun.NewlyFailed(st.Hooks.PostHooks, bs.Status.Hooks.PostHooks); len(newly) > 0 {
		msg := hookrun.Describe("postBackup", newly)
		c.setCondition(bs, st, ConditionPostBackupHooks, false, ReasonPostHookFailed, msg)
		c.recorder.Event(bs, "Warning", ReasonPostHookFailed, msg)
	}
	if prog == hookrun.InProgress {
		return after(wait)
	}
	return workloop.Done()
}

// dataEnded reports whether the backup's data step is over and whether it
// failed: a preBackup hook failed (nothing ran), every Snapshot is final,
// or the session failed otherwise (setup, deadline) and no runner pod is
// left.
func (c *Controller) dataEnded(bs *corev1alpha1.BackupSession, st *corev1alpha1.BackupSessionStatus) (ended, failed bool) {
	for _, h := range st.Hooks.PreHooks {
		if h.Phase == corev1alpha1.HookFailed {
			return true, true
		}
	}
	if common.IsTrue(st.Conditions, corev1alpha1.ConditionDeadlineExceeded) ||
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

// hookList is one of bs's hook lists for hookrun, with the placeholders
// every hook may use.
func (c *Controller) hookList(bs *corev1alpha1.BackupSession, stage, name string, infos []corev1alpha1.HookInfo, status, persisted []corev1alpha1.HookExecutionStatus,
	target common.TypedObjectReference, extra map[string]string, independent bool) hookrun.List {
	vars := map[string]string{"NAMESPACE": bs.Namespace, "SESSION_NAME": bs.Name, "BACKUP_SESSION": bs.Name,
		"TARGET_KIND": target.Kind, "TARGET_NAME": target.Name}
	for k, v := range extra {
		vars[k] = v
	}
	ns, n := bs.Namespace, bs.Name
	return hookrun.List{Key: hookrun.Key(ns, n) + string(bs.UID) + "/" + stage + "/", Stage: name, Infos: infos,
		Status: status, Persisted: persisted, Namespace: ns, Vars: vars, Wake: func() { c.loop.EnqueueName(ns, n) }, Independent: independent}
}

// after is a requeue after d, or none when d is zero (an event wakes us).
func after(d time.Duration) workloop.Result {
	if d <= 0 {
		return workloop.Done()
	}
	return workloop.After(d)
}
