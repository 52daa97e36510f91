package repository

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/controller/internal/jobwatch"
	"github.com/cairnbackup/cairn/pkg/controller/internal/maintlease"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
	"github.com/cairnbackup/cairn/pkg/jobs"
)

// Integrity checks: how often, and how to ask for one now.
const (
	// DefaultCheckInterval is the time between two integrity checks of a
	// Repository.
	DefaultCheckInterval = 7 * 24 * time.Hour
	// CheckReadFraction is the share of packs a check reads (at random,
	// so successive checks cover the repository over time).
	CheckReadFraction = 0.1
	// AnnotationCheckInterval sets another interval for one Repository, as
	// a Go duration ("24h"); "0" turns periodic checks off.
	AnnotationCheckInterval = "storage.cairn.dev/check-interval"
	// AnnotationCheckRequested asks for a check now: an RFC 3339 time
	// later than status.lastIntegrityCheckTime makes one due at that time
	// (`kubectl annotate repository NAME
	// storage.cairn.dev/check-requested-at=$(date -u +%FT%TZ) --overwrite`).
	AnnotationCheckRequested = "storage.cairn.dev/check-requested-at"
)

// checkPoll is how often a running check Job is looked at besides its
// events; maintenanceWait, how long a check waits while another
// maintenance Job (a session's retention) holds the repository's Lease.
const (
	checkPoll       = 30 * time.Second
	maintenanceWait = 10 * time.Second
)

// integrityResult is a finished check's outcome for the status.
type integrityResult struct {
	cond      metav1.Condition
	integrity *bool // nil when the check gave no verdict
	at        metav1.Time
}

// integrity runs the Repository's periodic check: when one is due and the
// repository holds a Succeeded snapshot it takes the repository's
// maintenance Lease (maintlease; never while a retention Job holds it) and
// creates the check Job, and once the Job ended it gives the Lease back
// and returns the outcome. It returns when to look again (0: nothing due).
func (c *Controller) integrity(ctx context.Context, repo *storagev1.Repository, bs *storagev1.BackupStorage, hasData bool) (*integrityResult, time.Duration, error) {
	due, ok := checkDue(repo)
	if !ok {
		return nil, 0, nil
	}
	name := jobs.CheckJobName(repo.Name, due.Unix())
	job, err := c.jobs.Jobs(repo.Namespace).Get(name)
	switch {
	case err == nil:
		if !jobwatch.Condition(job, batchv1.JobComplete) && !jobwatch.Condition(job, batchv1.JobFailed) {
			return nil, checkPoll, nil
		}
		res, err := c.checkOutcome(ctx, repo, job)
		if err != nil {
			return nil, 0, err
		}
		if err := c.rbac.Remove(ctx, repo.Namespace, jobs.CheckRBACOwner(repo.Name)); err != nil {
			return nil, 0, err
		}
		if err := c.leases.Release(ctx, cache.MetaObjectToName(repo), job.Name); err != nil {
			return nil, 0, err
		}
		return res, 0, nil
	case !apierrors.IsNotFound(err):
		return nil, 0, err
	}
	if wait := due.Sub(c.now()); wait > 0 {
		return nil, wait, nil
	}
	if !hasData {
		return nil, 0, nil // nothing backed up yet; a Succeeded Snapshot wakes the Repository
	}
	if err := c.leases.Acquire(ctx, cache.MetaObjectToName(repo), name); err != nil {
		var busy *maintlease.BusyError
		if errors.As(err, &busy) {
			klog.FromContext(ctx).V(4).Info("The integrity check waits for the repository's maintenance Lease", "repository", klog.KObj(repo), "reason", busy.Error())
			return nil, maintenanceWait, nil
		}
		return nil, 0, err
	}
	sa, roles, bindings := jobs.CheckRBAC(repo, bs)
	account, err := c.rbac.Ensure(ctx, sa, roles, bindings)
	if err != nil {
		return nil, 0, err
	}
	job, err = jobs.CheckJob(repo, bs, due.Unix(), CheckReadFraction, c.image, account)
	if err != nil {
		return nil, 0, err
	}
	if _, err := c.kube.BatchV1().Jobs(repo.Namespace).Create(ctx, job, metav1.CreateOptions{FieldManager: controller.FieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, 0, fmt.Errorf("creating check Job %s: %w", job.Name, err)
	}
	klog.FromContext(ctx).V(2).Info("Started an integrity check", "repository", klog.KObj(repo), "job", job.Name)
	return nil, checkPoll, nil
}

// checkDue is when the next check is due: a check interval after the last
// one (or after the Repository was made), or the time a request asks for
// when it is later than the last check. ok is false when checks are off
// and none is asked for.
func checkDue(repo *storagev1.Repository) (time.Time, bool) {
	interval := DefaultCheckInterval
	if v, set := repo.Annotations[AnnotationCheckInterval]; set {
		if d, err := time.ParseDuration(v); err == nil && d >= 0 {
			interval = d
		}
	}
	last := repo.CreationTimestamp.Time
	if t := repo.Status.LastIntegrityCheckTime; t != nil {
		last = t.Time
	}
	if req, err := time.Parse(time.RFC3339, repo.Annotations[AnnotationCheckRequested]); err == nil && req.After(last) {
		if interval == 0 || req.Before(last.Add(interval)) {
			return req.Truncate(time.Second), true
		}
	}
	if interval == 0 {
		return time.Time{}, false
	}
	return last.Add(interval).Truncate(time.Second), true
}

// checkOutcome reads a finished check Job: its report (in the pod's
// termination message) gives the verdict; a Job that ended without one
// is a check that could not run. The pods are listed from the API once,
// when the Job finished.
func (c *Controller) checkOutcome(ctx context.Context, repo *storagev1.Repository, job *batchv1.Job) (*integrityResult, error) {
	list, err := c.kube.CoreV1().Pods(job.Namespace).List(ctx, metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=" + job.Name})
	if err != nil {
		return nil, fmt.Errorf("listing the pods of check Job %s: %w", job.Name, err)
	}
	pods := make([]*corev1.Pod, 0, len(list.Items))
	var report *jobs.CheckReport
	for i := range list.Items {
		pods = append(pods, &list.Items[i])
		for _, cs := range list.Items[i].Status.ContainerStatuses {
			if t := cs.State.Terminated; t != nil && t.Message != "" {
				if r, err := jobs.ParseCheckReport([]byte(t.Message)); err == nil {
					report = r
				}
			}
		}
	}
	res := &integrityResult{at: metav1.NewTime(finishedAt(job, c.now()))}
	const cond = storagev1.ConditionIntegrityVerified
	first := repo.Status.LastIntegrityCheckTime == nil || !repo.Status.LastIntegrityCheckTime.Equal(&res.at)
	switch {
	case report != nil && report.ProblemCount == 0 && jobwatch.Condition(job, batchv1.JobComplete):
		ok := true
		res.integrity = &ok
		res.cond = storageops.Condition(cond, true, ReasonCheckPassed, fmt.Sprintf("check Job %s found no damage: %d snapshots, %d packs (%d read and verified)",
			job.Name, report.Snapshots, report.Packs, report.PacksRead))
		if first {
			c.recorder.Eventf(repo, corev1.EventTypeNormal, EventCheckPassed, "%s", res.cond.Message)
		}
	case report != nil && report.ProblemCount > 0:
		damaged := false
		res.integrity = &damaged
		var named []string
		for _, p := range report.Problems {
			named = append(named, p.Object+": "+p.Message)
		}
		res.cond = storageops.Condition(cond, false, ReasonDamageFound, fmt.Sprintf("check Job %s found %d problems (%s): the backups that use these objects cannot be fully restored; run `cairn repo check --read-data` on the repository for the full list, and back up again to store the data anew",
			job.Name, report.ProblemCount, strings.Join(named, "; ")))
		if first {
			c.recorder.Eventf(repo, corev1.EventTypeWarning, EventDamageFound, "%s", res.cond.Message)
		}
	default:
		res.cond = storageops.Condition(cond, false, ReasonCheckFailed, fmt.Sprintf("check Job %s could not check the repository: %s; `kubectl logs -n %s job/%s` says more, and the next check is due a check interval later (annotate %s to run one sooner)",
			job.Name, jobwatch.FailureOf(job, pods), job.Namespace, job.Name, AnnotationCheckRequested))
		if first {
			c.recorder.Eventf(repo, corev1.EventTypeWarning, EventCheckFailed, "%s", res.cond.Message)
		}
	}
	return res, nil
}

// finishedAt is when a Job ended: its completion time, or when it was
// marked Failed.
func finishedAt(job *batchv1.Job, now time.Time) time.Time {
	if job.Status.CompletionTime != nil {
		return job.Status.CompletionTime.Time.Truncate(time.Second)
	}
	for _, c := range job.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue && !c.LastTransitionTime.IsZero() {
			return c.LastTransitionTime.Time.Truncate(time.Second)
		}
	}
	return now.Truncate(time.Second)
}

// applyIntegrity puts a check's outcome in st, or keeps the last one's
// condition in conds when no check finished in this sync.
func applyIntegrity(st *storagev1.RepositoryStatus, old []metav1.Condition, res *integrityResult, conds []metav1.Condition) []metav1.Condition {
	if res == nil {
		if c := meta.FindStatusCondition(old, storagev1.ConditionIntegrityVerified); c != nil {
			conds = append(conds, *c)
		}
		return conds
	}
	if res.integrity != nil {
		st.Integrity = res.integrity
	}
	at := res.at
	st.LastIntegrityCheckTime = &at
	return append(conds, res.cond)
}
