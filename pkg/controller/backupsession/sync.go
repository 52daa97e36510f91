package backupsession

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/controller/internal/hookrun"
	"github.com/cairnbackup/cairn/pkg/controller/internal/ownwrites"
	"github.com/cairnbackup/cairn/pkg/controller/internal/targets"
	"github.com/cairnbackup/cairn/pkg/controller/internal/workloop"
	"github.com/cairnbackup/cairn/pkg/jobs"
)

// sync moves one BackupSession along: decide whether it runs, set up its
// Snapshots, runner and Jobs, follow them, and settle its phase.
func (c *Controller) sync(ctx context.Context, key cache.ObjectName) (workloop.Result, error) {
	bs, err := c.sessions.BackupSessions(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		c.hooks.Forget(hookrun.Key(key.Namespace, key.Name))
		c.writes.Forget(key)
		return workloop.Done(), c.rbac.Remove(ctx, key.Namespace, key.Name)
	}
	if err != nil || bs.DeletionTimestamp != nil {
		return workloop.Done(), err
	}
	if c.writes.Behind(key, bs.ResourceVersion) {
		klog.FromContext(ctx).V(4).Info("Waiting for the cache to hold the last status written", "backupSession", klog.KObj(bs))
		return workloop.After(ownwrites.Recheck), nil
	}
	if bs.Status.Phase.IsFinished() {
		c.hooks.Forget(hookrun.Key(bs.Namespace, bs.Name)) // every hook result is recorded
		if err := c.rbac.Remove(ctx, bs.Namespace, bs.Name); err != nil {
			return workloop.Done(), err
		}
		if res, err := c.retry(ctx, bs); err != nil || res.RequeueAfter > 0 {
			return res, err
		}
		return workloop.Done(), c.trimHistory(ctx, bs)
	}
	st := bs.Status.DeepCopy()
	started := common.IsTrue(st.Conditions, corev1alpha1.ConditionSnapshotsCreated)
	var res workloop.Result
	if !started {
		res, err = c.start(ctx, bs, st)
	} else {
		res, err = c.follow(ctx, bs, st)
	}
	if err != nil {
		return workloop.Done(), err
	}
	res = hookrun.Sooner(res, c.postBackupHooks(ctx, bs, st))
	return res, c.settle(ctx, bs, st)
}

// setCondition sets a condition on st.
func (c *Controller) setCondition(bs *corev1alpha1.BackupSession, st *corev1alpha1.BackupSessionStatus, t string, ok bool, reason, msg string) {
	common.SetCondition(&st.Conditions, t, ok, reason, msg, bs.Generation, c.now())
}

// start decides whether bs runs and, if so, creates its Snapshots, runner
// RBAC and Jobs.
func (c *Controller) start(ctx context.Context, bs *corev1alpha1.BackupSession, st *corev1alpha1.BackupSessionStatus) (workloop.Result, error) {
	p, err := c.resolve(bs)
	var perr *planError
	if errors.As(err, &perr) {
		c.setCondition(bs, st, corev1alpha1.ConditionSnapshotsCreated, false, perr.reason, perr.msg)
		return workloop.Done(), nil
	}
	if err != nil {
		return workloop.Done(), err
	}
	if skip, msg := c.concurrent(bs, p.session); skip {
		c.setCondition(bs, st, corev1alpha1.ConditionSessionSkipped, true, ReasonSkippedConcurrent, msg)
		return workloop.Done(), nil
	}
	if rs := c.restoring(bs); rs != "" {
		c.setCondition(bs, st, corev1alpha1.ConditionSessionSkipped, true, ReasonSkippedRestore,
			fmt.Sprintf("RestoreSession %s is restoring the target and holds its backups (status.pausedBackups) until it finishes", rs))
		return workloop.Done(), nil
	}
	var place targets.Place
	if p.components, place, err = c.targets.Split(ctx, bs.Namespace, p.config.Spec.Target); err != nil {
		var terr *targets.Error
		if errors.As(err, &terr) {
			c.setCondition(bs, st, corev1alpha1.ConditionSnapshotsCreated, false, terr.Reason, terr.Msg)
			return workloop.Done(), nil
		}
		return workloop.Done(), err
	}
	placed := make(chan []jobs.Component, 1)
	if p.volumeSnapshots() {
		p.components = place(ctx) // the VolumeSnapshots' exports copy the components
	}
	if err := c.prepareVolumeSnapshots(ctx, bs, p); err != nil {
		return workloop.Done(), err
	}
	if ok, res := c.preBackupHooks(ctx, bs, p, st); !ok {
		return res, nil
	}
	end := c.gate.begin()
	defer end()
	if !p.volumeSnapshots() {
		// Where and as whom the components run (live pod reads) is found
		// beside the Snapshots and ServiceAccount below: only the Jobs
		// need it.
		go func() { placed <- place(ctx) }()
	}
	if t := p.session.BackupTimeout; t != nil && st.Deadline == nil {
		d := metav1.NewTime(bs.CreationTimestamp.Add(t.Duration))
		st.Deadline = &d
	}
	// The runner's ServiceAccount and the Snapshots do not need each other:
	// both are created at once, and the Job right after them.
	account, roles, bindings := jobs.RunnerRBAC(bs, "BackupSession", "backup", runnerAccess(bs, p, nil))
	account.Annotations = p.accountAnnotations
	var sa *corev1.ServiceAccount
	var saErr error
	accountDone := make(chan struct{})
	go func() {
		defer close(accountDone)
		sa, saErr = c.rbac.EnsureAccount(ctx, account, roles, bindings)
	}()
	snaps, err := c.ensureSnapshots(ctx, bs, p, st)
	<-accountDone
	if err != nil {
		return workloop.Done(), err
	}
	if saErr != nil {
		return workloop.Done(), saErr
	}
	c.setCondition(bs, st, corev1alpha1.ConditionSnapshotsCreated, true, ReasonSnapshotsCreated, fmt.Sprintf("%d Snapshot(s) created", len(snaps)))
	// The data mover's runner retries a Forbidden first read until its Role
	// is there (pkg/runner), so that Role comes after the Jobs; the
	// VolumeSnapshot runner does not wait, so it gets its Role before.
	grant := func() error {
		_, roles, bindings := jobs.RunnerRBAC(bs, "BackupSession", "backup", runnerAccess(bs, p, snaps))
		return c.rbac.GrantLocal(ctx, sa, roles, bindings)
	}
	if p.volumeSnapshots() {
		if err := grant(); err != nil {
			return workloop.Done(), err
		}
	}
	if !p.volumeSnapshots() {
		p.components = <-placed
	}
	var deadline *int64
	if st.Deadline != nil {
		secs := int64(time.Until(st.Deadline.Time).Seconds())
		deadline = &secs
	}
	for i, rp := range p.repos {
		for _, comp := range p.components {
			job, err := c.backupJob(ctx, p, jobs.BackupJobInput{Session: bs, Config: p.config, Addon: &p.session.Addon, Task: p.task, TaskRef: p.taskRef,
				Function: p.function, Snapshot: snaps[i].Name, Repository: rp.repo.Name, Storage: rp.storage, Component: comp, Image: c.image, ServiceAccount: sa.Name, DeadlineSeconds: deadline}, snaps[i])
			var perr *planError
			if errors.As(err, &perr) {
				c.setCondition(bs, st, corev1alpha1.ConditionBackupJobsCreated, false, ReasonInvalid, err.Error())
				return workloop.Done(), nil
			}
			if err != nil {
				return workloop.Done(), err
			}
			if job == nil {
				continue // the component failed before it started
			}
			if _, err := c.kube.BatchV1().Jobs(bs.Namespace).Create(ctx, job, createOpts); err != nil && !apierrors.IsAlreadyExists(err) {
				return workloop.Done(), fmt.Errorf("creating backup Job %s: %w", job.Name, err)
			}
		}
	}
	end()
	if !p.volumeSnapshots() {
		c.gate.wait(ctx) // the other starts of a burst first
		if err := grant(); err != nil {
			return workloop.Done(), err
		}
	}
	for _, s := range snaps {
		if err := c.initSnapshotStatus(ctx, s, len(p.components)); err != nil {
			return workloop.Done(), err
		}
	}
	c.setCondition(bs, st, corev1alpha1.ConditionBackupJobsCreated, true, ReasonJobsCreated,
		fmt.Sprintf("%d backup Job(s) created", len(p.repos)*len(p.components)))
	c.recorder.Eventf(bs, "Normal", ReasonJobsCreated, "Backing up %d component(s) of %s %s into %d repositories", len(p.components), p.config.Spec.Target.Kind, p.config.Spec.Target.Name, len(p.repos))
	return c.requeueForDeadline(st), nil
}

// ensureSnapshots creates the session's Snapshot in each repository and
// lists them, Pending, in st.
func (c *Controller) ensureSnapshots(ctx context.Context, bs *corev1alpha1.BackupSession, p *plan, st *corev1alpha1.BackupSessionStatus) ([]*storagev1alpha1.Snapshot, error) {
	var snaps []*storagev1alpha1.Snapshot
	st.Snapshots = nil
	for _, rp := range p.repos {
		s, err := c.ensureSnapshot(ctx, bs, p, rp)
		if err != nil {
			return nil, err
		}
		snaps = append(snaps, s)
		target := p.config.Spec.Target
		st.Snapshots = append(st.Snapshots, corev1alpha1.SnapshotStatus{Name: s.Name, Phase: storagev1alpha1.SnapshotPending, AppRef: &target, Repository: rp.repo.Name})
	}
	st.TotalSnapshots = int32(len(snaps))
	return snaps, nil
}

// concurrent applies the schedule's concurrencyPolicy: with Forbid, a
// session whose config already runs one of the same session is skipped.
func (c *Controller) concurrent(bs *corev1alpha1.BackupSession, s *corev1alpha1.Session) (bool, string) {
	if s.Scheduler.ConcurrencyPolicy != corev1alpha1.ForbidConcurrent {
		return false, ""
	}
	others, _ := c.sessionIndex.ByIndex(byConfigSession, bs.Namespace+"/"+bs.Spec.Invoker.Name+"/"+bs.Spec.Session)
	for _, o := range others {
		other := o.(*corev1alpha1.BackupSession)
		if other.Name != bs.Name && !other.Status.Phase.IsFinished() && common.IsTrue(other.Status.Conditions, corev1alpha1.ConditionSnapshotsCreated) {
			return true, fmt.Sprintf("BackupSession %s of the same session is still running and the schedule's concurrencyPolicy is Forbid", other.Name)
		}
	}
	return false, ""
}

// restoring names the unfinished RestoreSession that holds the backups of
// bs's config, or "": a backup must not read a half-restored volume.
func (c *Controller) restoring(bs *corev1alpha1.BackupSession) string {
	all, _ := c.restores.RestoreSessions(bs.Namespace).List(labels.Everything())
	for _, rs := range all {
		if rs.HoldsBackupsOf(bs.Namespace, bs.Spec.Invoker.Name) {
			return rs.Name
		}
	}
	return ""
}

func (c *Controller) requeueForDeadline(st *corev1alpha1.BackupSessionStatus) workloop.Result {
	if st.Deadline == nil {
		return workloop.Done()
	}
	return workloop.After(st.Deadline.Sub(c.now()) + time.Second)
}

// settle computes the phase and writes the status when it changed. A
// failed session is not final until its runner pods are gone, so a Forbid
// schedule never starts a backup while the old upload still runs.
func (c *Controller) settle(ctx context.Context, bs *corev1alpha1.BackupSession, st *corev1alpha1.BackupSessionStatus) error {
	phase := st.CalculatePhase()
	if phase.IsFinished() && phase != corev1alpha1.BackupSessionSucceeded {
		active, err := c.stopJobs(ctx, bs)
		if err != nil {
			return err
		}
		// Post hooks run after a failure too (executionPolicy decides).
		if active > 0 || hookrun.Pending(st.Hooks.PostHooks) {
			phase = corev1alpha1.BackupSessionRunning
			c.loop.Queue.AddAfter(cache.ObjectName{Namespace: bs.Namespace, Name: bs.Name}, 2*time.Second)
		}
	}
	st.Phase = phase
	if phase.IsFinished() && st.Duration == "" {
		st.Duration = c.now().Sub(bs.CreationTimestamp.Time).Round(time.Second).String()
	}
	st.ObservedGeneration = bs.Generation
	if apiequality.Semantic.DeepEqual(&bs.Status, st) {
		return nil
	}
	if ok, err := c.writeStatus(ctx, bs, st); !ok {
		return err
	}
	if phase.IsFinished() && !bs.Status.Phase.IsFinished() {
		c.recordFinish(bs, st)
	}
	klog.FromContext(ctx).V(2).Info("BackupSession phase", "backupSession", klog.KObj(bs), "phase", phase)
	return nil
}

// writeStatus writes st as the status of bs and remembers the version it
// wrote (fresh.go). A conflict (someone wrote bs since; that update wakes
// the session again) or a session gone is not an error, but ok is false.
func (c *Controller) writeStatus(ctx context.Context, bs *corev1alpha1.BackupSession, st *corev1alpha1.BackupSessionStatus) (ok bool, err error) {
	upd := bs.DeepCopy()
	upd.Status = *st
	out, err := c.cairn.CoreV1alpha1().BackupSessions(bs.Namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{FieldManager: controller.FieldManager})
	if err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("writing status: %w", err)
	}
	c.writes.Wrote(cache.MetaObjectToName(bs), out.ResourceVersion)
	return true, nil
}

// recordFinish emits the Event that says how the session ended and why.
func (c *Controller) recordFinish(bs *corev1alpha1.BackupSession, st *corev1alpha1.BackupSessionStatus) {
	switch st.Phase {
	case corev1alpha1.BackupSessionSucceeded:
		c.recorder.Eventf(bs, "Normal", ReasonSucceeded, "Backup succeeded in %s", st.Duration)
	case corev1alpha1.BackupSessionSkipped:
		reason := ReasonSkippedConcurrent
		if cond := meta.FindStatusCondition(st.Conditions, corev1alpha1.ConditionSessionSkipped); cond != nil {
			reason = cond.Reason
		}
		c.recorder.Event(bs, "Normal", reason, conditionMessage(st, corev1alpha1.ConditionSessionSkipped))
	default:
		var why []string
		for _, cond := range st.Conditions {
			if (cond.Type == corev1alpha1.ConditionDeadlineExceeded && cond.Status == metav1.ConditionTrue) ||
				(cond.Type != corev1alpha1.ConditionDeadlineExceeded && cond.Status == metav1.ConditionFalse) {
				why = append(why, cond.Message)
			}
		}
		c.recorder.Eventf(bs, "Warning", ReasonFailed, "Backup failed: %s", strings.Join(why, "; "))
	}
}

func conditionMessage(st *corev1alpha1.BackupSessionStatus, t string) string {
	if cond := meta.FindStatusCondition(st.Conditions, t); cond != nil {
		return cond.Message
	}
	return ""
}
