// Package maintlease keeps a Repository's maintenance to one Job at a time:
// retention's forget and prune (BackupSession controller) and the
// integrity check (Repository controller) each take the Repository's
// coordination.k8s.io Lease before they create their Job, and give it back
// once the Job ended. The Lease is written with a create or an update
// conditional on its resourceVersion, so two workers (or two operators
// during a hand-over) that both read a stale informer cache cannot both
// start one: the API server lets exactly one write through.
//
// The operator holds the Lease on behalf of the Job, whose runner cannot
// renew it, so the Lease does not expire on a timer: it stays held while
// its holder Job exists and has not finished. leaseDurationSeconds only
// bounds the moment between taking the Lease and creating the Job (and
// the life of a Lease whose Job vanished): a holder whose Job does not
// exist for longer than that after renewTime, and has no pod left, is
// taken over, as is a holder whose Job finished without its owner giving
// the Lease back. The engine's own prune lock, kept in the repository,
// still guards against other clusters writing the same repository.
//
// The Leases live in the operator's namespace, where the operator's Role
// lets it read, update and delete Leases; in the users' namespaces it may
// touch none (so it cannot interfere with their leader elections).
package maintlease

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/controller/internal/jobwatch"
	"github.com/cairnbackup/cairn/pkg/names"
)

// Prefix starts the name of every maintenance Lease, so `kubectl get
// leases -n cairn-system` tells them from the operator's leader Lease.
const Prefix = "cairn-maintenance-"

// Grace is the Leases' leaseDurationSeconds: how long after taking the
// Lease its holder may go without a Job before another may take it over
// (the operator creates the Job right after taking the Lease; a restart in
// between finds the Lease its own, by the Job's deterministic name).
const Grace = 60 * time.Second

// AnnotationRepository names, on a Lease, the Repository it serialises
// ("<namespace>/<name>"): the Lease's own name may be shortened.
const AnnotationRepository = "cairn.dev/repository"

// ComponentMaintenance is the app.kubernetes.io/component of the Leases.
const ComponentMaintenance = "maintenance"

// Name is the Lease of Repository namespace/repository. A namespace holds
// no ".", so the first one after the prefix ends it and two Repositories
// never share a name (a name too long ends in a hash of the whole).
func Name(namespace, repository string) string {
	return names.Shorten(Prefix+namespace+"."+repository, 253)
}

// BusyError says another maintenance Job holds the Repository: the caller
// waits and tries again.
type BusyError struct {
	Repository cache.ObjectName
	// Holder is the Job that holds the Lease; empty when another worker
	// wrote the Lease between this one's read and its write.
	Holder string
}

func (e *BusyError) Error() string {
	if e.Holder == "" {
		return fmt.Sprintf("the maintenance Lease of Repository %s was taken by another worker", e.Repository)
	}
	return fmt.Sprintf("maintenance Job %s holds Repository %s", e.Holder, e.Repository)
}

// Leases takes and gives back the maintenance Leases of Repositories.
type Leases struct {
	kube      kubernetes.Interface
	namespace string
	// Now is the clock; tests set it.
	Now func() time.Time
}

// New makes Leases kept in namespace (the operator's); with "" each Lease
// lives in its Repository's namespace (an operator run outside a cluster).
func New(kube kubernetes.Interface, namespace string) *Leases {
	return &Leases{kube: kube, namespace: namespace, Now: time.Now}
}

// Namespace is where the Lease of repo lives.
func (l *Leases) Namespace(repo cache.ObjectName) string {
	if l.namespace != "" {
		return l.namespace
	}
	return repo.Namespace
}

// Acquire takes repo's Lease for the maintenance Job job (in repo's
// namespace) before the Job is created. It is nil when job holds the
// Lease (also when it already did: a restarted sync), a *BusyError when
// another Job does, or an API error.
func (l *Leases) Acquire(ctx context.Context, repo cache.ObjectName, job string) error {
	leases := l.kube.CoordinationV1().Leases(l.Namespace(repo))
	name := Name(repo.Namespace, repo.Name)
	cur, err := leases.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err := leases.Create(ctx, l.lease(repo, job), metav1.CreateOptions{FieldManager: controller.FieldManager})
		if apierrors.IsAlreadyExists(err) {
			return &BusyError{Repository: repo}
		}
		if err != nil {
			return fmt.Errorf("creating maintenance Lease %s: %w", name, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("reading maintenance Lease %s: %w", name, err)
	}
	holder := HolderOf(cur)
	if holder == job {
		return nil
	}
	if holder != "" {
		stale, err := l.stale(ctx, repo.Namespace, holder, cur)
		if err != nil {
			return err
		}
		if !stale {
			return &BusyError{Repository: repo, Holder: holder}
		}
	}
	next := l.lease(repo, job)
	next.ObjectMeta = *cur.ObjectMeta.DeepCopy()
	next.ManagedFields = nil // the server keeps them
	transitions := int32(0)
	if cur.Spec.LeaseTransitions != nil {
		transitions = *cur.Spec.LeaseTransitions
	}
	if holder != "" {
		transitions++
	}
	next.Spec.LeaseTransitions = &transitions
	// Update sends cur's resourceVersion: a write by anyone since the
	// Get makes this one fail with a conflict.
	_, err = leases.Update(ctx, next, metav1.UpdateOptions{FieldManager: controller.FieldManager})
	switch {
	case apierrors.IsConflict(err) || apierrors.IsNotFound(err):
		return &BusyError{Repository: repo}
	case err != nil:
		return fmt.Errorf("taking maintenance Lease %s over from %q: %w", name, holder, err)
	}
	return nil
}

// Release gives repo's Lease back once job ended (Complete, Failed or
// gone): it deletes the Lease if job still holds it, on the condition that
// nobody wrote it since it was read. A Lease already gone or held by
// another Job is left alone.
func (l *Leases) Release(ctx context.Context, repo cache.ObjectName, job string) error {
	cur, err := l.current(ctx, repo)
	if cur == nil || err != nil || HolderOf(cur) != job {
		return err
	}
	return l.remove(ctx, cur, "releasing maintenance Lease "+cur.Name+" held by "+job)
}

// Drop deletes repo's Lease as its Repository (uid) goes, so no Lease of
// a gone Repository stays behind. A Lease whose holder Job still runs and
// outlives the Repository (a session's retention, which gives the Lease
// back when it ends) is left to that Job; one held by a Job the Repository
// owns (its integrity check, deleted with it) or by a Job that ended or
// vanished goes at once, without Grace: the Repository starts no Job any
// more.
func (l *Leases) Drop(ctx context.Context, repo cache.ObjectName, uid types.UID) error {
	cur, err := l.current(ctx, repo)
	if cur == nil || err != nil {
		return err
	}
	if holder := HolderOf(cur); holder != "" {
		job, err := l.kube.BatchV1().Jobs(repo.Namespace).Get(ctx, holder, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("reading maintenance Job %s/%s: %w", repo.Namespace, holder, err)
		}
		owned := err == nil && metav1.IsControlledBy(job, &metav1.ObjectMeta{UID: uid})
		if !owned {
			done, err := l.ended(ctx, repo.Namespace, holder, cur, false)
			if err != nil || !done {
				return err
			}
		}
	}
	return l.remove(ctx, cur, "deleting maintenance Lease "+cur.Name+" of a deleted Repository")
}

// current reads repo's Lease: nil without an error when there is none.
func (l *Leases) current(ctx context.Context, repo cache.ObjectName) (*coordinationv1.Lease, error) {
	name := Name(repo.Namespace, repo.Name)
	cur, err := l.kube.CoordinationV1().Leases(l.Namespace(repo)).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading maintenance Lease %s: %w", name, err)
	}
	return cur, nil
}

// remove deletes cur on the condition that nobody wrote it since it was
// read (whoever did decides again); doing says what it was for.
func (l *Leases) remove(ctx context.Context, cur *coordinationv1.Lease, doing string) error {
	uid, rv := cur.UID, cur.ResourceVersion
	err := l.kube.CoordinationV1().Leases(cur.Namespace).Delete(ctx, cur.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("%s: %w", doing, err)
	}
	return nil
}

// HolderOf is the Job a Lease is held for ("" when free).
func HolderOf(l *coordinationv1.Lease) string {
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// stale reports whether holder, a Job in namespace ns, no longer needs
// cur: it finished, or it does not exist and the grace after renewTime
// passed; and in both cases none of its pods still runs (a Job deleted
// in the background leaves its pods terminating for a while).
func (l *Leases) stale(ctx context.Context, ns, holder string, cur *coordinationv1.Lease) (bool, error) {
	return l.ended(ctx, ns, holder, cur, true)
}

// ended is stale, with or without the grace after renewTime for a Job
// that does not exist.
func (l *Leases) ended(ctx context.Context, ns, holder string, cur *coordinationv1.Lease, withGrace bool) (bool, error) {
	job, err := l.kube.BatchV1().Jobs(ns).Get(ctx, holder, metav1.GetOptions{})
	switch {
	case err == nil:
		if !jobwatch.Condition(job, batchv1.JobComplete) && !jobwatch.Condition(job, batchv1.JobFailed) {
			return false, nil
		}
	case apierrors.IsNotFound(err):
		grace := Grace
		if d := cur.Spec.LeaseDurationSeconds; d != nil {
			grace = time.Duration(*d) * time.Second
		}
		if r := cur.Spec.RenewTime; withGrace && r != nil && l.Now().Before(r.Add(grace)) {
			return false, nil // taken moments ago: its Job is being created
		}
	default:
		return false, fmt.Errorf("reading maintenance Job %s/%s: %w", ns, holder, err)
	}
	pods, err := l.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=" + holder})
	if err != nil {
		return false, fmt.Errorf("listing the pods of maintenance Job %s/%s: %w", ns, holder, err)
	}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			return false, nil
		}
	}
	return true, nil
}

// lease is repo's Lease held for job from now.
func (l *Leases) lease(repo cache.ObjectName, job string) *coordinationv1.Lease {
	now := metav1.NewMicroTime(l.Now())
	seconds := int32(Grace / time.Second)
	zero := int32(0)
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: l.Namespace(repo), Name: Name(repo.Namespace, repo.Name),
			Labels:      map[string]string{controller.LabelManagedBy: controller.ManagedByValue, controller.LabelComponent: ComponentMaintenance},
			Annotations: map[string]string{AnnotationRepository: repo.String()},
		},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &job, LeaseDurationSeconds: &seconds, AcquireTime: &now, RenewTime: &now, LeaseTransitions: &zero},
	}
}
