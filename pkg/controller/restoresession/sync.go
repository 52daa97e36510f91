package restoresession

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	addonsv1alpha1 "github.com/cairnbackup/cairn/pkg/apis/addons/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/controller/internal/hookrun"
	"github.com/cairnbackup/cairn/pkg/controller/internal/jobwatch"
	"github.com/cairnbackup/cairn/pkg/controller/internal/targets"
	"github.com/cairnbackup/cairn/pkg/controller/internal/workloop"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/names"
)

// Condition and Event reasons of RestoreSessions.
const (
	ReasonSnapshotFound      = "SnapshotFound"
	ReasonSnapshotNotFound   = "SnapshotNotFound"
	ReasonComponentMissing   = "ComponentMissing"
	ReasonRepositoryNotFound = "RepositoryNotFound"
	ReasonInvalid            = "Invalid"
	ReasonJobsCreated        = "RestoreJobsCreated"
	ReasonJobFailed          = "RestoreJobFailed"
	ReasonDeadlineExceeded   = "DeadlineExceeded"
	ReasonSucceeded          = "Succeeded"
	ReasonFailed             = "Failed"
)

func (c *Controller) sync(ctx context.Context, key cache.ObjectName) (workloop.Result, error) {
	rs, err := c.sessions.RestoreSessions(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		c.hooks.Forget(hookrun.Key(key.Namespace, key.Name))
		return workloop.Done(), c.rbac.Remove(ctx, key.Namespace, key.Name)
	}
	if err != nil || rs.DeletionTimestamp != nil {
		return workloop.Done(), err
	}
	if rs.Status.Phase.IsFinished() {
		c.hooks.Forget(hookrun.Key(rs.Namespace, rs.Name)) // every hook result is recorded
		return workloop.Done(), c.rbac.Remove(ctx, rs.Namespace, rs.Name)
	}
	st := rs.Status.DeepCopy()
	var res workloop.Result
	if !common.IsTrue(st.Conditions, corev1alpha1.ConditionRestoreJobsCreated) {
		res, err = c.start(ctx, rs, st)
	} else {
		res, err = c.follow(ctx, rs, st)
	}
	if err != nil {
		return workloop.Done(), err
	}
	res = hookrun.Sooner(res, c.postRestoreHooks(ctx, rs, st))
	return res, c.settle(ctx, rs, st)
}

// setCondition sets a condition on st.
func (c *Controller) setCondition(rs *corev1alpha1.RestoreSession, st *corev1alpha1.RestoreSessionStatus, t string, ok bool, reason, msg string) {
	common.SetCondition(&st.Conditions, t, ok, reason, msg, rs.Generation, c.now())
}

// source is what a restore reads from.
type source struct {
	snapshot   *storagev1alpha1.Snapshot
	repo       *storagev1alpha1.Repository
	storage    *storagev1alpha1.BackupStorage
	components []string
}

// findSource resolves the Repository, the Snapshot (or the newest
// Succeeded one for `latest`) and the components to restore. The error
// message says which of them is missing.
func (c *Controller) findSource(rs *corev1alpha1.RestoreSession) (*source, string, string) {
	ds := rs.Spec.DataSource
	src := &source{}
	var err error
	if src.repo, err = c.repositories.Repositories(rs.Namespace).Get(ds.Repository); err != nil {
		return nil, ReasonRepositoryNotFound, fmt.Sprintf("Repository %s/%s does not exist", rs.Namespace, ds.Repository)
	}
	sref := src.repo.Spec.StorageRef.WithNamespace(src.repo.Namespace)
	if src.storage, err = c.storages.BackupStorages(sref.Namespace).Get(sref.Name); err != nil {
		return nil, ReasonRepositoryNotFound, fmt.Sprintf("BackupStorage %s/%s of Repository %s does not exist", sref.Namespace, sref.Name, src.repo.Name)
	}
	if ds.Snapshot == corev1alpha1.LatestSnapshot {
		src.snapshot = c.latest(rs.Namespace, ds.Repository)
		if src.snapshot == nil {
			return nil, ReasonSnapshotNotFound, fmt.Sprintf("Repository %s has no Succeeded Snapshot to restore as latest", ds.Repository)
		}
	} else if src.snapshot, err = c.snapshots.Snapshots(rs.Namespace).Get(ds.Snapshot); err != nil {
		return nil, ReasonSnapshotNotFound, fmt.Sprintf("Snapshot %s/%s does not exist (kubectl get snapshots -n %s lists them)", rs.Namespace, ds.Snapshot, rs.Namespace)
	}
	if src.snapshot.Spec.Repository != ds.Repository {
		return nil, ReasonSnapshotNotFound, fmt.Sprintf("Snapshot %s belongs to Repository %s, not %s", src.snapshot.Name, src.snapshot.Spec.Repository, ds.Repository)
	}
	var have []string
	for name, comp := range src.snapshot.Status.Components {
		if comp.Phase == storagev1alpha1.ComponentSucceeded {
			have = append(have, name)
		}
	}
	sort.Strings(have)
	src.components = have
	if len(ds.Components) > 0 {
		src.components = nil
		for _, want := range ds.Components {
			if !contains(have, want) {
				return nil, ReasonComponentMissing, fmt.Sprintf("Snapshot %s has no restorable component %q (it has %s)", src.snapshot.Name, want, strings.Join(have, ", "))
			}
			src.components = append(src.components, want)
		}
	}
	if len(src.components) == 0 {
		return nil, ReasonComponentMissing, fmt.Sprintf("Snapshot %s has no Succeeded component to restore", src.snapshot.Name)
	}
	return src, "", ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// latest is the newest Succeeded Snapshot of a repository.
func (c *Controller) latest(ns, repository string) *storagev1alpha1.Snapshot {
	all, _ := c.snapshots.Snapshots(ns).List(labels.Everything())
	var best *storagev1alpha1.Snapshot
	for _, s := range all {
		if s.Spec.Repository != repository || s.Status.Phase != storagev1alpha1.SnapshotSucceeded {
			continue
		}
		if best == nil || snapshotTime(s).After(snapshotTime(best)) {
			best = s
		}
	}
	return best
}

func snapshotTime(s *storagev1alpha1.Snapshot) time.Time {
	if s.Status.SnapshotTime != nil {
		return s.Status.SnapshotTime.Time
	}
	return s.CreationTimestamp.Time
}

// start resolves the source, the target's components, the task and its
// Function, and creates the runner identity and one Job per component.
func (c *Controller) start(ctx context.Context, rs *corev1alpha1.RestoreSession, st *corev1alpha1.RestoreSessionStatus) (workloop.Result, error) {
	src, reason, msg := c.findSource(rs)
	if src == nil {
		c.setCondition(rs, st, corev1alpha1.ConditionSnapshotFound, false, reason, msg)
		return workloop.Done(), nil
	}
	c.setCondition(rs, st, corev1alpha1.ConditionSnapshotFound, true, ReasonSnapshotFound,
		fmt.Sprintf("restoring Snapshot %s (components %s)", src.snapshot.Name, strings.Join(src.components, ", ")))
	if ok, res := c.preRestoreHooks(ctx, rs, st, src); !ok {
		return res, nil
	}
	if handled, res, err := c.startVolumeSnapshotRestore(ctx, rs, st, src); handled {
		return res, err
	}
	fail := func(reason, msg string) (workloop.Result, error) {
		c.setCondition(rs, st, corev1alpha1.ConditionRestoreJobsCreated, false, reason, msg)
		return workloop.Done(), nil
	}
	target := src.snapshot.Spec.AppRef
	if rs.Spec.Target != nil {
		target = *rs.Spec.Target
	}
	if target.Namespace != "" && target.Namespace != rs.Namespace {
		return fail(ReasonInvalid, fmt.Sprintf("target %s %s is in namespace %s; a RestoreSession restores into its own namespace %s", target.Kind, target.Name, target.Namespace, rs.Namespace))
	}
	comps, claims, err := c.components(ctx, rs, src, target)
	var terr *targets.Error
	if errors.As(err, &terr) {
		return fail(terr.Reason, terr.Msg)
	}
	if err != nil {
		return workloop.Done(), err
	}
	byName := map[string]jobs.Component{}
	for _, comp := range comps {
		byName[comp.Name] = comp
	}
	task, ref, fn, reason, msg := c.restoreTask(rs)
	if task == nil {
		return fail(reason, msg)
	}
	if t := rs.Spec.RestoreTimeout; t != nil && st.Deadline == nil {
		d := metav1.NewTime(rs.CreationTimestamp.Add(t.Duration))
		st.Deadline = &d
	}
	if st.Deadline != nil && !c.now().Before(st.Deadline.Time) {
		c.setCondition(rs, st, corev1alpha1.ConditionDeadlineExceeded, true, ReasonDeadlineExceeded,
			fmt.Sprintf("the restore did not start by its deadline %s (restoreTimeout)", st.Deadline.UTC().Format(time.RFC3339)))
		return workloop.Done(), nil
	}
	if ready, again := c.holdBackups(rs, st, target); !ready {
		res := c.requeueForDeadline(st)
		if res.RequeueAfter == 0 || again < res.RequeueAfter {
			res.RequeueAfter = again
		}
		return res, nil
	}
	access := jobs.Access{}
	access.RestoreSession(rs.Namespace, rs.Name)
	access.SnapshotRead(src.snapshot.Namespace, src.snapshot.Name)
	access.Repository(src.repo.Namespace, src.repo.Name)
	access.Storage(src.storage.Namespace, src.storage.Name)
	access.Secret(src.storage.Namespace, blob.SecretName(&src.storage.Spec.Storage))
	for _, ref := range []common.ObjectReference{rs.Spec.DataSource.EncryptionSecret, src.repo.Spec.EncryptionSecret} {
		if ref.Name != "" {
			ref = ref.WithNamespace(rs.Namespace)
			access.Secret(ref.Namespace, ref.Name)
		}
	}
	account, roles, bindings := jobs.RunnerRBAC(rs, "RestoreSession", "restore", access)
	// The storage's cloud identity (one storage: its annotations cannot conflict).
	if account.Annotations, err = jobs.AccountAnnotations(src.storage); err != nil {
		return workloop.Done(), err
	}
	sa, err := c.rbac.Ensure(ctx, account, roles, bindings)
	if err != nil {
		return workloop.Done(), err
	}
	var deadline *int64
	if st.Deadline != nil {
		secs := int64(time.Until(st.Deadline.Time).Seconds())
		deadline = &secs
	}
	if msg, err := c.ensureClaims(ctx, rs, claims); msg != "" || err != nil {
		if err != nil {
			return workloop.Done(), err
		}
		return fail(ReasonClaimExists, msg)
	}
	users, err := c.usersOfClaims(ctx, rs.Namespace)
	if err != nil {
		return workloop.Done(), err
	}
	for _, name := range src.components {
		comp, ok := byName[name]
		if !ok {
			return fail(ReasonComponentMissing, fmt.Sprintf("component %s of Snapshot %s has no counterpart in %s %s (it has %s)", name, src.snapshot.Name, target.Kind, target.Name, componentNames(comps)))
		}
		if why := c.unmountable(rs.Namespace, comp, users); why != "" {
			failComponent(st, name, why)
			continue
		}
		in := jobs.RestoreJobInput{Session: rs, Task: task, TaskRef: ref, Function: fn, Component: comp, Snapshot: src.snapshot.Name, Storage: src.storage,
			Image: c.image, ServiceAccount: sa, DeadlineSeconds: deadline, Owners: src.snapshot.Status.Components[name].Owners}
		if owners, who := jobs.RestoresOwners(in); owners {
			user := jobs.RunnerUser(comp.PodSecurity)
			if why := c.ownersForbidden(rs.Namespace, who, user); why != "" {
				failComponent(st, name, why)
				continue
			}
			c.recorder.Eventf(rs, "Normal", ReasonRestoresOwners, "Component %s: the files belong to %s, other than restore user %d: its restore Job runs as root with only the capabilities CHOWN and FOWNER (param %s: \"false\" restores them as user %d)",
				name, who, user, jobs.ParamRestoreOwners, user)
		}
		job, err := jobs.RestoreJob(in)
		if err != nil {
			return fail(ReasonInvalid, err.Error())
		}
		if _, err := c.kube.BatchV1().Jobs(rs.Namespace).Create(ctx, job, metav1.CreateOptions{FieldManager: controller.FieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
			return workloop.Done(), fmt.Errorf("creating restore Job %s: %w", job.Name, err)
		}
	}
	st.TotalComponents = int32(len(src.components))
	c.setCondition(rs, st, corev1alpha1.ConditionRestoreJobsCreated, true, ReasonJobsCreated, fmt.Sprintf("%d restore Job(s) created", len(src.components)))
	c.recorder.Eventf(rs, "Normal", ReasonJobsCreated, "Restoring %d component(s) of Snapshot %s into %s %s", len(src.components), src.snapshot.Name, target.Kind, target.Name)
	return c.requeueForDeadline(st), nil
}

func componentNames(comps []jobs.Component) string {
	n := make([]string, 0, len(comps))
	for _, c := range comps {
		n = append(n, c.Name)
	}
	return strings.Join(n, ", ")
}

// restoreTask finds the addon's restore task the session names and its
// Function.
func (c *Controller) restoreTask(rs *corev1alpha1.RestoreSession) (*addonsv1alpha1.Task, *corev1alpha1.TaskReference, *addonsv1alpha1.Function, string, string) {
	addon, err := c.addons.Get(rs.Spec.Addon.Name)
	if err != nil {
		return nil, nil, nil, ReasonInvalid, fmt.Sprintf("Addon %q is not installed", rs.Spec.Addon.Name)
	}
	for i := range rs.Spec.Addon.Tasks {
		ref := &rs.Spec.Addon.Tasks[i]
		for j := range addon.Spec.RestoreTasks {
			t := &addon.Spec.RestoreTasks[j]
			if t.Name != ref.Name {
				continue
			}
			fn, err := c.functions.Get(t.Function)
			if err != nil {
				return nil, nil, nil, ReasonInvalid, fmt.Sprintf("Function %q of restore task %s is not installed", t.Function, t.Name)
			}
			return t, ref, fn, "", ""
		}
	}
	return nil, nil, nil, ReasonInvalid, fmt.Sprintf("Addon %s has none of the restore tasks the session names", addon.Name)
}

func (c *Controller) requeueForDeadline(st *corev1alpha1.RestoreSessionStatus) workloop.Result {
	if st.Deadline == nil {
		return workloop.Done()
	}
	return workloop.After(st.Deadline.Sub(c.now()) + time.Second)
}

// follow checks the deadline and each component's Job and pods, and
// records in the status what the runners could not.
func (c *Controller) follow(ctx context.Context, rs *corev1alpha1.RestoreSession, st *corev1alpha1.RestoreSessionStatus) (workloop.Result, error) {
	now := c.now()
	if st.Deadline != nil && !now.Before(st.Deadline.Time) {
		c.setCondition(rs, st, corev1alpha1.ConditionDeadlineExceeded, true, ReasonDeadlineExceeded,
			fmt.Sprintf("the restore did not finish by its deadline %s (restoreTimeout); its Jobs were stopped", st.Deadline.UTC().Format(time.RFC3339)))
	}
	js, _ := c.jobs.Jobs(rs.Namespace).List(labels.SelectorFromSet(labels.Set{jobs.LabelRestoreSession: rs.Name}))
	next := time.Duration(0)
	for _, job := range js {
		comp := job.Labels[jobs.LabelDataComponent]
		if cur := st.Components[comp]; cur.Phase == storagev1alpha1.ComponentFailed || cur.Phase == storagev1alpha1.ComponentSucceeded {
			continue
		}
		pods, _ := c.pods.Pods(rs.Namespace).List(labels.SelectorFromSet(labels.Set{jobs.LabelRestoreSession: rs.Name, jobs.LabelDataComponent: comp}))
		var msg string
		switch {
		case jobwatch.Condition(job, batchv1.JobFailed):
			msg = fmt.Sprintf("restore Job %s failed: %s", job.Name, jobwatch.FailureOf(job, pods))
		case jobwatch.Condition(job, batchv1.JobComplete):
			if job.Status.CompletionTime != nil && now.Sub(job.Status.CompletionTime.Time) > 30*time.Second {
				msg = fmt.Sprintf("restore Job %s ended without reporting a result", job.Name)
			}
		default:
			if why, again := c.podRefused(ctx, job, len(pods), now); why != "" {
				msg = why
			} else if again > 0 && (next == 0 || again < next) {
				next = again
			}
			for _, p := range pods {
				if lost := jobwatch.NodeLost(p, c.nodes); lost != "" {
					msg = fmt.Sprintf("restore pod %s cannot finish: %s", p.Name, lost)
					if err := jobwatch.Delete(ctx, c.kube, job); err != nil {
						return workloop.Done(), err
					}
				} else if stuck := jobwatch.PodStuck(p); stuck != "" {
					msg = fmt.Sprintf("restore pod %s: %s", p.Name, stuck)
				} else if since, why := jobwatch.Unscheduled(p); volumeConflict(why) {
					msg = fmt.Sprintf("restore pod %s cannot mount the target's volumes: %s", p.Name, why)
				} else if why != "" {
					if left := c.pending - now.Sub(since); left > 0 {
						if next == 0 || left < next {
							next = left
						}
					} else {
						msg = fmt.Sprintf("restore pod %s could not be scheduled for %s: %s", p.Name, c.pending, why)
					}
				}
			}
		}
		if msg != "" {
			failComponent(st, comp, msg)
		}
	}
	if int32(len(js)) < st.TotalComponents {
		for _, name := range c.missingJobs(rs, st, js) {
			st.Components[name] = corev1alpha1.ComponentRestoreStatus{Phase: storagev1alpha1.ComponentFailed, Error: fmt.Sprintf("restore Job %s was deleted before it finished", names.RestoreJob(rs.Name, name))}
		}
	}
	res := c.requeueForDeadline(st)
	if next > 0 && (res.RequeueAfter == 0 || next < res.RequeueAfter) {
		res.RequeueAfter = next
	}
	return res, nil
}

// missingJobs names the unfinished components whose Job is gone.
func (c *Controller) missingJobs(rs *corev1alpha1.RestoreSession, st *corev1alpha1.RestoreSessionStatus, js []*batchv1.Job) []string {
	have := map[string]bool{}
	for _, j := range js {
		have[j.Labels[jobs.LabelDataComponent]] = true
	}
	src, _, _ := c.findSource(rs)
	if src == nil {
		return nil
	}
	if st.Components == nil {
		st.Components = map[string]corev1alpha1.ComponentRestoreStatus{}
	}
	var gone []string
	for _, name := range src.components {
		cur := st.Components[name]
		if !have[name] && cur.Phase != storagev1alpha1.ComponentSucceeded && cur.Phase != storagev1alpha1.ComponentFailed {
			gone = append(gone, name)
		}
	}
	return gone
}

// settle computes the phase and writes the status when it changed; a
// failed restore is final only once its pods are gone.
func (c *Controller) settle(ctx context.Context, rs *corev1alpha1.RestoreSession, st *corev1alpha1.RestoreSessionStatus) error {
	phase := st.CalculatePhase()
	if phase.IsFinished() && phase != corev1alpha1.RestoreSucceeded {
		sel := labels.SelectorFromSet(labels.Set{jobs.LabelRestoreSession: rs.Name})
		js, _ := c.jobs.Jobs(rs.Namespace).List(sel)
		if err := jobwatch.Stop(ctx, c.kube, js); err != nil {
			return err
		}
		pods, _ := c.pods.Pods(rs.Namespace).List(sel)
		// Post hooks run after a failure too (executionPolicy decides).
		// A pod on a lost node never ends: it is not waited for.
		if jobwatch.ActiveOn(pods, c.nodes) > 0 || hookrun.Pending(st.Hooks.PostHooks) {
			phase = corev1alpha1.RestoreRunning
			c.loop.Queue.AddAfter(cache.ObjectName{Namespace: rs.Namespace, Name: rs.Name}, 2*time.Second)
		}
	}
	st.Phase = phase
	if phase.IsFinished() {
		c.resumeBackups(rs, st)
	}
	if phase.IsFinished() && st.Duration == "" {
		st.Duration = c.now().Sub(rs.CreationTimestamp.Time).Round(time.Second).String()
	}
	st.ObservedGeneration = rs.Generation
	if apiequality.Semantic.DeepEqual(&rs.Status, st) {
		return nil
	}
	upd := rs.DeepCopy()
	upd.Status = *st
	if _, err := c.cairn.CoreV1alpha1().RestoreSessions(rs.Namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{FieldManager: controller.FieldManager}); err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("writing status: %w", err)
	}
	if phase.IsFinished() && !rs.Status.Phase.IsFinished() {
		if phase == corev1alpha1.RestoreSucceeded {
			c.recorder.Eventf(rs, "Normal", ReasonSucceeded, "Restore succeeded in %s", st.Duration)
		} else {
			c.recorder.Eventf(rs, "Warning", ReasonFailed, "Restore failed: %s", failures(st))
		}
	}
	return nil
}

// failures joins the reasons a restore failed.
func failures(st *corev1alpha1.RestoreSessionStatus) string {
	var why []string
	for _, cond := range st.Conditions {
		deadline := cond.Type == corev1alpha1.ConditionDeadlineExceeded && cond.Status == metav1.ConditionTrue
		broken := cond.Type != corev1alpha1.ConditionDeadlineExceeded && cond.Type != corev1alpha1.ConditionBackupsPaused && cond.Status == metav1.ConditionFalse
		if deadline || broken {
			why = append(why, cond.Message)
		}
	}
	names := make([]string, 0, len(st.Components))
	for n := range st.Components {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if e := st.Components[n].Error; e != "" {
			why = append(why, n+": "+e)
		}
	}
	return strings.Join(why, "; ")
}

// failComponent records that component name failed, and why.
func failComponent(st *corev1alpha1.RestoreSessionStatus, name, why string) {
	if st.Components == nil {
		st.Components = map[string]corev1alpha1.ComponentRestoreStatus{}
	}
	st.Components[name] = corev1alpha1.ComponentRestoreStatus{Phase: storagev1alpha1.ComponentFailed, Error: why}
}
