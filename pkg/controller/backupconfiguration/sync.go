package backupconfiguration

import (
	"context"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller/internal/ownwrites"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
	"github.com/cairnbackup/cairn/pkg/controller/internal/workloop"
	"github.com/cairnbackup/cairn/pkg/schedule"
)

// sync checks one BackupConfiguration, brings its Repositories and trigger
// CronJobs in line, and writes its status when it changed. It requeues
// itself for the next schedule, so nextSchedule stays true.
func (c *Controller) sync(ctx context.Context, key cache.ObjectName) (workloop.Result, error) {
	bc, err := c.configLister.BackupConfigurations(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		// Its CronJobs are owned by it and garbage collected; its
		// Repositories (and so the backups) stay. The namespace's trigger
		// RBAC goes with its last config.
		c.writes.Forget(key)
		return workloop.Done(), c.removeTriggerRBAC(ctx, key.Namespace)
	}
	if err != nil {
		return workloop.Done(), err
	}
	if c.writes.Behind(key, bc.ResourceVersion) {
		return workloop.After(ownwrites.Recheck), nil // the informer's update wakes it sooner
	}
	if bc.DeletionTimestamp != nil || storageops.Terminating(c.namespaces, bc.Namespace) {
		// The API server refuses every create in a namespace being
		// deleted; the config, its CronJobs and Repositories go with it.
		return workloop.Done(), nil
	}
	logger := klog.FromContext(ctx).WithValues("backupConfiguration", klog.KObj(bc))
	r := newReport()
	c.checkTarget(bc, r)
	c.checkAddons(bc, r)
	c.checkHooks(bc, r)
	scheds := checkSchedules(bc, r)
	refs, pinned := c.backendRefs(bc, r)
	var backends map[string]backend
	var byRepo map[string]corev1alpha1.BackendReference
	if refs != nil {
		backends = c.checkBackends(bc, refs, r)
		byRepo = repoBackends(bc, refs, r)
	}
	var errs []error
	if !r.invalid && refs != nil {
		errs = append(errs, c.ensureRepositories(ctx, bc, backends, byRepo, r))
	}
	var cronjobs map[string]*batchv1.CronJob
	if !r.invalid {
		cronjobs, err = c.ensureTriggers(ctx, bc, r)
		errs = append(errs, err)
	}
	now := c.now()
	status := buildStatus(bc, r, pinned, scheds, cronjobs, c.lastSuccessful(bc), now)
	if err := c.writeStatus(ctx, bc, status); err != nil {
		errs = append(errs, err)
	}
	logger.V(4).Info("Synced", "phase", status.Phase)
	if err := errors.Join(errs...); err != nil {
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			// The namespace's deletion began after the cache last saw it:
			// retrying would only be refused again.
			return workloop.Done(), nil
		}
		return workloop.Done(), err
	}
	if status.NextSchedule != nil {
		// Wake up just after the next run to refresh nextSchedule.
		return workloop.After(status.NextSchedule.Sub(now) + time.Second), nil
	}
	return workloop.Done(), nil
}

// ensureTriggers sets up the trigger RBAC and CronJobs and records the
// SchedulersReady condition.
func (c *Controller) ensureTriggers(ctx context.Context, bc *corev1alpha1.BackupConfiguration, r *report) (map[string]*batchv1.CronJob, error) {
	const cond = corev1alpha1.ConditionSchedulersReady
	if err := c.ensureTriggerRBAC(ctx, bc.Namespace); err != nil {
		r.fail(cond, ReasonSchedulersNotCreated, err.Error(), false)
		return nil, err
	}
	cronjobs, err := c.ensureCronJobs(ctx, bc)
	var foreign *foreignError
	switch {
	case errors.As(err, &foreign):
		r.fail(cond, ReasonSchedulersNotCreated, foreign.msg, true)
		return cronjobs, nil
	case err != nil:
		r.fail(cond, ReasonSchedulersNotCreated, err.Error(), false)
		return cronjobs, err
	case bc.Spec.Paused:
		r.ok(cond, ReasonSchedulersPaused, "the config is paused: its trigger CronJobs are suspended until spec.paused is false")
	default:
		r.ok(cond, ReasonSchedulersReady, fmt.Sprintf("%d trigger CronJob(s) in place", len(bc.Spec.Sessions)))
	}
	return cronjobs, nil
}

// checkSchedules parses every session's schedule and time zone.
func checkSchedules(bc *corev1alpha1.BackupConfiguration, r *report) map[string]*schedule.Schedule {
	out := map[string]*schedule.Schedule{}
	for _, s := range bc.Spec.Sessions {
		sched, err := schedule.Parse(s.Scheduler.Schedule, s.Scheduler.TimeZone)
		if err != nil {
			r.fail(corev1alpha1.ConditionSchedulersReady, ReasonScheduleInvalid, fmt.Sprintf("session %s: %v", s.Name, err), true)
			continue
		}
		out[s.Name] = sched
	}
	return out
}
