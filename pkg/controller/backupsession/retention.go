package backupsession

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/controller/internal/jobwatch"
	"github.com/cairnbackup/cairn/pkg/controller/internal/maintlease"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/retention"
)

// Reasons of the RetentionPolicyApplied condition.
const (
	ReasonRetentionApplied = "RetentionApplied"
	ReasonRetentionFailed  = "RetentionFailed"
)

// retentionBusyWait is how long a repository's retention waits while
// another maintenance Job (a session's retention, the Repository's
// integrity check) holds the repository's Lease.
const retentionBusyWait = 10 * time.Second

// applyRetention runs once every Snapshot of the session succeeded: for
// each repository it decides with its backend's RetentionPolicy which
// Snapshots go, deletes the Failed ones beyond failedSnapshots.last, and
// runs a retention Job (forget + prune) for the engine snapshots of the
// dropped ones, under the repository's maintenance Lease (maintlease: one
// maintenance Job per repository at a time); when the Job succeeded it
// deletes the dropped Snapshot objects, and once it ended it gives the
// Lease back. A failure is recorded, not fatal:
// the backup succeeded. It returns when to look again.
//
// fresh holds the session's Snapshots as this sync just wrote them (their
// phase patched to Succeeded), which the cache may not show yet: deciding
// on them at once spares the session a status write and a second sync.
func (c *Controller) applyRetention(ctx context.Context, bs *corev1alpha1.BackupSession, st *corev1alpha1.BackupSessionStatus, fresh map[string]*storagev1alpha1.Snapshot) (time.Duration, error) {
	if st.RetentionPolicy == nil {
		bc, err := c.configs.BackupConfigurations(bs.Namespace).Get(bs.Spec.Invoker.Name)
		if err != nil {
			return 0, nil // the config is gone: nothing says what to keep
		}
		for _, s := range st.Snapshots {
			st.RetentionPolicy = append(st.RetentionPolicy, corev1alpha1.RetentionPolicyApplyStatus{
				Ref: policyOf(bc, s.Repository), Repository: s.Repository, Phase: corev1alpha1.RetentionPolicyPending})
		}
	}
	// Decide on what the API says: this session's Snapshots must show as
	// Succeeded in the cache before they count as the newest to keep.
	for _, ss := range st.Snapshots {
		s, err := c.snapshots.Snapshots(bs.Namespace).Get(ss.Name)
		if f, ok := fresh[ss.Name]; ok {
			s, err = f, nil
		}
		if err != nil || s.Status.Phase != storagev1alpha1.SnapshotSucceeded {
			return time.Second, nil
		}
	}
	var wait time.Duration
	for i := range st.RetentionPolicy {
		e := &st.RetentionPolicy[i]
		if e.Phase != corev1alpha1.RetentionPolicyPending {
			continue
		}
		w, err := c.retainOne(ctx, bs, e, fresh)
		if err != nil {
			return 0, err
		}
		if w > 0 && (wait == 0 || w < wait) {
			wait = w
		}
	}
	var failed []string
	pending := false
	for _, e := range st.RetentionPolicy {
		switch e.Phase {
		case corev1alpha1.RetentionPolicyFailedToApply:
			failed = append(failed, fmt.Sprintf("Repository %s: %s", e.Repository, e.Error))
		case corev1alpha1.RetentionPolicyPending:
			pending = true
		}
	}
	switch {
	case len(failed) > 0 && !pending:
		msg := strings.Join(failed, "; ") + " (the backup itself succeeded)"
		if !common.IsFalse(st.Conditions, corev1alpha1.ConditionRetentionPolicyApplied) {
			c.recorder.Event(bs, "Warning", ReasonRetentionFailed, msg)
		}
		c.setCondition(bs, st, corev1alpha1.ConditionRetentionPolicyApplied, false, ReasonRetentionFailed, msg)
	case !pending:
		c.setCondition(bs, st, corev1alpha1.ConditionRetentionPolicyApplied, true, ReasonRetentionApplied, "every repository's retention policy was applied")
	}
	return wait, nil
}

// policyOf is the RetentionPolicy of the backend a repository of bc uses.
func policyOf(bc *corev1alpha1.BackupConfiguration, repository string) common.ObjectReference {
	var backend string
	for _, s := range bc.Spec.Sessions {
		for _, r := range s.Repositories {
			if r.Name == repository {
				backend = r.Backend
			}
		}
	}
	ref := common.ObjectReference{}
	switch {
	case len(bc.Spec.Backends) == 0 && bc.Status.DefaultBackend != nil:
		ref = bc.Status.DefaultBackend.RetentionPolicy
	case len(bc.Spec.Backends) == 1 && backend == "":
		ref = bc.Spec.Backends[0].RetentionPolicy
	default:
		for _, b := range bc.Spec.Backends {
			if b.Name == backend {
				ref = b.RetentionPolicy
			}
		}
	}
	if ref.Name != "" && ref.Namespace == "" {
		ref.Namespace = bc.Namespace
	}
	return ref
}

// retainOne moves one repository's retention along.
func (c *Controller) retainOne(ctx context.Context, bs *corev1alpha1.BackupSession, e *corev1alpha1.RetentionPolicyApplyStatus, fresh map[string]*storagev1alpha1.Snapshot) (time.Duration, error) {
	fail := func(format string, a ...any) (time.Duration, error) {
		e.Phase, e.Error = corev1alpha1.RetentionPolicyFailedToApply, fmt.Sprintf(format, a...)
		return 0, nil
	}
	name := jobs.RetentionJobName(bs.Name, e.Repository)
	repoName := cache.ObjectName{Namespace: bs.Namespace, Name: e.Repository}
	job, err := c.jobs.Jobs(bs.Namespace).Get(name)
	switch {
	case err == nil && jobwatch.Condition(job, batchv1.JobComplete):
		for _, s := range strings.Split(job.Annotations[jobs.DropAnnotation], ",") {
			if err := c.deleteSnapshot(ctx, bs.Namespace, s); err != nil {
				return 0, err
			}
		}
		if err := c.leases.Release(ctx, repoName, job.Name); err != nil {
			return 0, err
		}
		e.Phase, e.Error = corev1alpha1.RetentionPolicyApplied, ""
		return 0, nil
	case err == nil && jobwatch.Condition(job, batchv1.JobFailed):
		if err := c.leases.Release(ctx, repoName, job.Name); err != nil {
			return 0, err
		}
		pods, _ := c.pods.Pods(bs.Namespace).List(labels.SelectorFromSet(labels.Set{"job-name": job.Name}))
		return fail("retention Job %s failed: %s", job.Name, jobwatch.FailureOf(job, pods))
	case err == nil:
		return 5 * time.Second, nil // running
	case !apierrors.IsNotFound(err):
		return 0, err
	}
	if e.Ref.Name == "" {
		return fail("no RetentionPolicy applies to this repository")
	}
	policy, err := c.policies.RetentionPolicies(e.Ref.Namespace).Get(e.Ref.Name)
	if err != nil {
		return fail("RetentionPolicy %s/%s does not exist", e.Ref.Namespace, e.Ref.Name)
	}
	snaps, _ := c.snapshots.Snapshots(bs.Namespace).List(labels.SelectorFromSet(labels.Set{jobs.LabelRepository: e.Repository}))
	for i, s := range snaps {
		if f, ok := fresh[s.Name]; ok {
			snaps[i] = f
		}
	}
	plan, err := retention.Decide(c.settled(bs, snaps), &policy.Spec, c.now())
	if err != nil {
		return fail("RetentionPolicy %s/%s: %v", e.Ref.Namespace, e.Ref.Name, err)
	}
	keepOwn(bs, plan)
	for _, s := range plan.DropFailed {
		if err := c.deleteSnapshot(ctx, s.Namespace, s.Name); err != nil {
			return 0, err
		}
	}
	forget := plan.EngineSnapshots()
	if len(plan.Drop) == 0 {
		e.Phase = corev1alpha1.RetentionPolicyApplied
		return 0, nil
	}
	if len(forget) == 0 {
		// The dropped Snapshots hold no engine data (VolumeSnapshots only):
		// nothing to forget or prune, so no Job.
		for _, s := range plan.Drop {
			if err := c.deleteSnapshot(ctx, s.Namespace, s.Name); err != nil {
				return 0, err
			}
		}
		e.Phase = corev1alpha1.RetentionPolicyApplied
		return 0, nil
	}
	repo, err := c.repositories.Repositories(bs.Namespace).Get(e.Repository)
	if err != nil {
		return fail("Repository %s is gone", e.Repository)
	}
	sref := repo.Spec.StorageRef.WithNamespace(repo.Namespace)
	storage, err := c.storages.BackupStorages(sref.Namespace).Get(sref.Name)
	if err != nil {
		return fail("the BackupStorage of Repository %s is gone", e.Repository)
	}
	drop := make([]string, 0, len(plan.Drop))
	for _, s := range plan.Drop {
		drop = append(drop, s.Name)
	}
	job, err = jobs.RetentionJob(bs, e.Repository, storage, forget, drop, c.image, jobs.RunnerServiceAccount("backup", bs.Name))
	if err != nil {
		return fail("%v", err)
	}
	// The plan is decided without the Lease (forgetting is idempotent, a
	// plan that keeps everything costs no Lease writes); the Job, whose
	// prune must not meet another prune or a check, only runs under it.
	if err := c.leases.Acquire(ctx, repoName, job.Name); err != nil {
		var busy *maintlease.BusyError
		if errors.As(err, &busy) {
			klog.FromContext(ctx).V(4).Info("Retention waits for the repository's maintenance Lease", "backupSession", klog.KObj(bs), "reason", busy.Error())
			return retentionBusyWait, nil
		}
		return 0, err
	}
	if _, err := c.kube.BatchV1().Jobs(bs.Namespace).Create(ctx, job, metav1.CreateOptions{FieldManager: controller.FieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
		return 0, fmt.Errorf("creating retention Job %s: %w", job.Name, err)
	}
	return 5 * time.Second, nil
}

// settled leaves out the Snapshots of the other sessions still running:
// their own retention decides on them once they succeeded. A session whose
// Snapshot another session's retention dropped would end Failed ("deleted
// while the backup ran") although its backup succeeded, which two
// sessions of one repository finishing together (concurrencyPolicy Allow,
// two configs' schedules) otherwise do to each other.
func (c *Controller) settled(bs *corev1alpha1.BackupSession, snaps []*storagev1alpha1.Snapshot) []*storagev1alpha1.Snapshot {
	out := make([]*storagev1alpha1.Snapshot, 0, len(snaps))
	for _, s := range snaps {
		if o := s.Spec.BackupSession; o != "" && o != bs.Name {
			if other, err := c.sessions.BackupSessions(bs.Namespace).Get(o); err == nil && !other.Status.Phase.IsFinished() {
				continue
			}
		}
		out = append(out, s)
	}
	return out
}

// keepOwn moves the session's own Snapshots from plan.Drop to plan.Keep:
// a session never drops what it just saved (which the policy may ask for
// when a newer session finished first, or two share a second), for the
// same reason; the next session's retention decides on them.
func keepOwn(bs *corev1alpha1.BackupSession, plan *retention.Plan) {
	plan.Drop = slices.DeleteFunc(plan.Drop, func(s *storagev1alpha1.Snapshot) bool {
		if s.Spec.BackupSession == bs.Name {
			plan.Keep = append(plan.Keep, s)
			return true
		}
		return false
	})
}

// deleteSnapshot deletes a Snapshot retention dropped, and first the CSI
// VolumeSnapshots it records (users are otherwise left cleaning those up
// by hand).
func (c *Controller) deleteSnapshot(ctx context.Context, ns, name string) error {
	if name == "" {
		return nil
	}
	if s, err := c.cairn.StorageV1alpha1().Snapshots(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
		if err := c.deleteVolumeSnapshots(ctx, s); err != nil {
			return err
		}
	} else if !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading Snapshot %s dropped by retention: %w", name, err)
	}
	err := c.cairn.StorageV1alpha1().Snapshots(ns).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting Snapshot %s dropped by retention: %w", name, err)
	}
	return nil
}
