// Package runnerrbac creates and removes a session's runner identity: the
// ServiceAccount its Jobs run as and the Roles (in every namespace the
// session touches) that name exactly its objects. Backup and restore
// sessions share it; the RBAC goes as soon as the session is final.
package runnerrbac

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"

	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/jobs"
)

// Manager creates and removes runner RBAC; the listers come from the
// operator's managed-objects informers.
type Manager struct {
	Kube     kubernetes.Interface
	Accounts corelisters.ServiceAccountLister
	Roles    rbaclisters.RoleLister
	Bindings rbaclisters.RoleBindingLister

	removed deletions
}

// removedTTL is how long Remove remembers what it deleted. Every sync of a
// finished session calls Remove (each update of its Jobs and pods wakes
// it), and the informer may list a deleted object for a moment after: a
// second delete would be a write answered NotFound.
const removedTTL = time.Minute

// deletions are the UIDs of the objects Remove deleted, with when.
type deletions struct {
	mu  sync.Mutex
	uid map[types.UID]time.Time
}

// seen reports whether uid was deleted within removedTTL, and forgets
// older deletions.
func (d *deletions) seen(uid types.UID, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for u, at := range d.uid {
		if now.Sub(at) > removedTTL {
			delete(d.uid, u)
		}
	}
	_, ok := d.uid[uid]
	return ok
}

func (d *deletions) add(uid types.UID, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.uid == nil {
		d.uid = map[types.UID]time.Time{}
	}
	d.uid[uid] = now
}

// delete deletes o with del unless Remove did so within removedTTL.
func (m *Manager) delete(o metav1.Object, del func() error) error {
	now := time.Now()
	if o.GetUID() != "" && m.removed.seen(o.GetUID(), now) {
		return nil
	}
	if err := del(); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if o.GetUID() != "" {
		m.removed.add(o.GetUID(), now)
	}
	return nil
}

// New takes the listers from the Managed informer factory of d.
func New(d controller.Deps) *Manager {
	mf := d.Informers.Managed
	return &Manager{Kube: d.Kube, Accounts: mf.Core().V1().ServiceAccounts().Lister(),
		Roles: mf.Rbac().V1().Roles().Lister(), Bindings: mf.Rbac().V1().RoleBindings().Lister()}
}

var createOpts = metav1.CreateOptions{FieldManager: controller.FieldManager}

// Ensure creates the ServiceAccount, Roles and RoleBindings (AlreadyExists
// is success: the names are deterministic) and returns the account's name:
// EnsureAccount, then GrantLocal, for a caller that creates its Jobs after.
func (m *Manager) Ensure(ctx context.Context, sa *corev1.ServiceAccount, roles []*rbacv1.Role, bindings []*rbacv1.RoleBinding) (string, error) {
	account, err := m.EnsureAccount(ctx, sa, roles, bindings)
	if err != nil {
		return "", err
	}
	return account.Name, m.GrantLocal(ctx, account, roles, bindings)
}

// EnsureAccount creates the runner's ServiceAccount and the Roles and
// RoleBindings of the other namespaces the runner reads (a BackupStorage
// elsewhere), and returns the account. A Job's pods need the account to
// exist when they are created (the ServiceAccount admission plugin refuses
// them otherwise), but not the Role in its own namespace: the runner's first
// read is there, and it retries a Forbidden for a while (pkg/runner). So a
// caller in a hurry creates its Jobs between EnsureAccount and GrantLocal,
// two of the slowest writes (RBAC creates, which the API server checks for
// escalation) off the way to the Job; the other namespaces are granted
// before, so that once the first read is allowed, every read is.
func (m *Manager) EnsureAccount(ctx context.Context, sa *corev1.ServiceAccount, roles []*rbacv1.Role, bindings []*rbacv1.RoleBinding) (*corev1.ServiceAccount, error) {
	account, err := m.Kube.CoreV1().ServiceAccounts(sa.Namespace).Create(ctx, sa, createOpts)
	if apierrors.IsAlreadyExists(err) {
		if account, err = m.Accounts.ServiceAccounts(sa.Namespace).Get(sa.Name); err != nil {
			account, err = m.Kube.CoreV1().ServiceAccounts(sa.Namespace).Get(ctx, sa.Name, metav1.GetOptions{})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("creating the runner ServiceAccount: %w", err)
	}
	return account, m.grant(ctx, roles, bindings, func(ns string) bool { return ns != account.Namespace }, nil)
}

// GrantLocal creates the Role and RoleBinding in account's own namespace.
// They are owned by the account (which the session owns), so deleting the
// account when the session is final takes them along through garbage
// collection: two API writes fewer per session, and a binding never
// outlives the identity it names.
func (m *Manager) GrantLocal(ctx context.Context, account *corev1.ServiceAccount, roles []*rbacv1.Role, bindings []*rbacv1.RoleBinding) error {
	owned := []metav1.OwnerReference{{APIVersion: "v1", Kind: "ServiceAccount", Name: account.Name, UID: account.UID}}
	return m.grant(ctx, roles, bindings, func(ns string) bool { return ns == account.Namespace }, owned)
}

// grant creates the Roles, then the RoleBindings, of the namespaces in
// picks, with owners when given.
func (m *Manager) grant(ctx context.Context, roles []*rbacv1.Role, bindings []*rbacv1.RoleBinding, picks func(string) bool, owners []metav1.OwnerReference) error {
	for _, r := range roles {
		if !picks(r.Namespace) {
			continue
		}
		if owners != nil {
			r = r.DeepCopy()
			r.OwnerReferences = owners
		}
		if _, err := m.Kube.RbacV1().Roles(r.Namespace).Create(ctx, r, createOpts); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating the runner Role in %s: %w", r.Namespace, err)
		}
	}
	for _, b := range bindings {
		if !picks(b.Namespace) {
			continue
		}
		if owners != nil {
			b = b.DeepCopy()
			b.OwnerReferences = owners
		}
		if _, err := m.Kube.RbacV1().RoleBindings(b.Namespace).Create(ctx, b, createOpts); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating the runner RoleBinding in %s: %w", b.Namespace, err)
		}
	}
	return nil
}

// ownedByAccount reports an object the garbage collector removes with its
// runner ServiceAccount (see Ensure).
func ownedByAccount(o metav1.Object) bool {
	for _, r := range o.GetOwnerReferences() {
		if r.Kind == "ServiceAccount" && r.APIVersion == "v1" {
			return true
		}
	}
	return false
}

// Remove deletes the runner RBAC of session namespace/name in every
// namespace (objects in other namespaces cannot be owned by the session);
// the Role and RoleBinding its ServiceAccount owns go with the account.
func (m *Manager) Remove(ctx context.Context, namespace, name string) error {
	sel := labels.SelectorFromSet(labels.Set{jobs.RBACLabel: jobs.RBACLabelValue(namespace, name)})
	bindings, _ := m.Bindings.List(sel)
	for _, b := range bindings {
		if ownedByAccount(b) {
			continue
		}
		if err := m.delete(b, func() error {
			return m.Kube.RbacV1().RoleBindings(b.Namespace).Delete(ctx, b.Name, metav1.DeleteOptions{})
		}); err != nil {
			return fmt.Errorf("removing runner RoleBinding %s/%s: %w", b.Namespace, b.Name, err)
		}
	}
	roles, _ := m.Roles.List(sel)
	for _, r := range roles {
		if ownedByAccount(r) {
			continue
		}
		if err := m.delete(r, func() error {
			return m.Kube.RbacV1().Roles(r.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{})
		}); err != nil {
			return fmt.Errorf("removing runner Role %s/%s: %w", r.Namespace, r.Name, err)
		}
	}
	accounts, _ := m.Accounts.ServiceAccounts(namespace).List(sel)
	for _, a := range accounts {
		if err := m.delete(a, func() error {
			return m.Kube.CoreV1().ServiceAccounts(namespace).Delete(ctx, a.Name, metav1.DeleteOptions{})
		}); err != nil {
			return fmt.Errorf("removing runner ServiceAccount %s: %w", a.Name, err)
		}
	}
	return nil
}
