package jobs

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/labels"
	"github.com/cairnbackup/cairn/pkg/names"
)

// Access is what one session's runner may read or write, by namespace: the
// objects it names and nothing else.
type Access map[string]*nsAccess

type nsAccess struct {
	snapshots, snapshotsRead, repositories, storages, secrets, sessions, restores map[string]bool
	// CSI VolumeSnapshots and claims (the volume-snapshot tasks): read by
	// name; creating cannot be limited to names in RBAC, so it is a flag.
	volumeSnapshots, claims             map[string]bool
	createVolumeSnapshots, createClaims bool
}

func (a Access) in(ns string) *nsAccess {
	if a[ns] == nil {
		a[ns] = &nsAccess{snapshots: map[string]bool{}, snapshotsRead: map[string]bool{}, repositories: map[string]bool{},
			storages: map[string]bool{}, secrets: map[string]bool{}, sessions: map[string]bool{}, restores: map[string]bool{},
			volumeSnapshots: map[string]bool{}, claims: map[string]bool{}}
	}
	return a[ns]
}

// Snapshot lets the runner read and patch one Snapshot (and its status).
func (a Access) Snapshot(ns, name string) { a.in(ns).snapshots[name] = true }

// SnapshotRead lets the runner read one Snapshot (a restore's source).
func (a Access) SnapshotRead(ns, name string) { a.in(ns).snapshotsRead[name] = true }

// RestoreSession lets the runner read one RestoreSession and patch its
// status (its own component).
func (a Access) RestoreSession(ns, name string) { a.in(ns).restores[name] = true }

// Repository lets the runner read one Repository.
func (a Access) Repository(ns, name string) { a.in(ns).repositories[name] = true }

// Storage lets the runner read one BackupStorage.
func (a Access) Storage(ns, name string) { a.in(ns).storages[name] = true }

// Secret lets the runner read one Secret (credentials, repository password).
func (a Access) Secret(ns, name string) {
	if name != "" {
		a.in(ns).secrets[name] = true
	}
}

// BackupSession lets the runner read one BackupSession.
func (a Access) BackupSession(ns, name string) { a.in(ns).sessions[name] = true }

// VolumeSnapshot lets the runner read one CSI VolumeSnapshot.
func (a Access) VolumeSnapshot(ns, name string) { a.in(ns).volumeSnapshots[name] = true }

// CreateVolumeSnapshots lets the runner create VolumeSnapshots in ns (RBAC
// cannot limit a create to names; it reads only those given to
// VolumeSnapshot).
func (a Access) CreateVolumeSnapshots(ns string) { a.in(ns).createVolumeSnapshots = true }

// Claim lets the runner read one PersistentVolumeClaim.
func (a Access) Claim(ns, name string) { a.in(ns).claims[name] = true }

// CreateClaims lets the runner create PersistentVolumeClaims in ns (a
// restore's new claims; it reads only those given to Claim).
func (a Access) CreateClaims(ns string) { a.in(ns).createClaims = true }

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (n *nsAccess) rules() []rbacv1.PolicyRule {
	var r []rbacv1.PolicyRule
	add := func(group, resource string, verbs []string, names map[string]bool) {
		if len(names) > 0 {
			r = append(r, rbacv1.PolicyRule{APIGroups: []string{group}, Resources: []string{resource}, Verbs: verbs, ResourceNames: keys(names)})
		}
	}
	add(corev1alpha1.GroupName, "backupsessions", []string{"get"}, n.sessions)
	add(corev1alpha1.GroupName, "restoresessions", []string{"get"}, n.restores)
	add(corev1alpha1.GroupName, "restoresessions/status", []string{"get", "patch"}, n.restores)
	add(storagev1alpha1.GroupName, "snapshots", []string{"get"}, n.snapshotsRead)
	add(storagev1alpha1.GroupName, "snapshots", []string{"get", "patch"}, n.snapshots)
	add(storagev1alpha1.GroupName, "snapshots/status", []string{"get", "patch"}, n.snapshots)
	add(storagev1alpha1.GroupName, "repositories", []string{"get"}, n.repositories)
	add(storagev1alpha1.GroupName, "backupstorages", []string{"get"}, n.storages)
	add("", "secrets", []string{"get"}, n.secrets)
	add(snapshotGroup, "volumesnapshots", []string{"get"}, n.volumeSnapshots)
	add("", "persistentvolumeclaims", []string{"get"}, n.claims)
	if n.createVolumeSnapshots {
		r = append(r, rbacv1.PolicyRule{APIGroups: []string{snapshotGroup}, Resources: []string{"volumesnapshots"}, Verbs: []string{"create"}})
	}
	if n.createClaims {
		r = append(r, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"persistentvolumeclaims"}, Verbs: []string{"create"}})
	}
	return r
}

// snapshotGroup is the API group of CSI VolumeSnapshots.
const snapshotGroup = "snapshot.storage.k8s.io"

// RunnerServiceAccount names the ServiceAccount of a session's runner pods.
func RunnerServiceAccount(kind, session string) string {
	return names.Join(names.MaxLabelLength, "cairn", kind, session)
}

// RBACLabel marks a session's RBAC objects with the session, in every
// namespace, so they can be found and removed with it. Its value is
// RBACLabelValue.
const RBACLabel = "cairn.dev/runner-of"

// RBACLabelValue is RBACLabel's value for the session namespace/name.
func RBACLabelValue(namespace, name string) string {
	return names.Shorten(namespace+"."+name, names.MaxLabelLength)
}

// RunnerRBAC builds the runner's ServiceAccount (in the session's
// namespace) and, for every namespace the access touches, a Role with
// exactly those objects and a RoleBinding to the account. Objects in the
// session's namespace are owned by owner; those elsewhere carry RBACLabel
// and are deleted by the operator when the session ends.
func RunnerRBAC(owner metav1.Object, ownerKind, kind string, access Access) (*corev1.ServiceAccount, []*rbacv1.Role, []*rbacv1.RoleBinding) {
	name := RunnerServiceAccount(kind, owner.GetName())
	ns := owner.GetNamespace()
	lbl := func() map[string]string {
		return map[string]string{labels.ManagedBy: labels.ManagedByValue, labels.Component: "runner-" + kind, RBACLabel: RBACLabelValue(ns, owner.GetName())}
	}
	ref := metav1.NewControllerRef(owner, corev1alpha1.SchemeGroupVersion.WithKind(ownerKind))
	meta := func(inNS string) metav1.ObjectMeta {
		m := metav1.ObjectMeta{Name: name, Namespace: inNS, Labels: lbl()}
		if inNS == ns {
			m.OwnerReferences = []metav1.OwnerReference{*ref}
		} else {
			m.Name = names.Join(names.MaxLabelLength, "cairn", kind, ns, owner.GetName())
		}
		return m
	}
	sa := &corev1.ServiceAccount{ObjectMeta: meta(ns), AutomountServiceAccountToken: ptr(true)}
	var roles []*rbacv1.Role
	var bindings []*rbacv1.RoleBinding
	nss := make([]string, 0, len(access))
	for n := range access {
		nss = append(nss, n)
	}
	sort.Strings(nss)
	for _, n := range nss {
		role := &rbacv1.Role{ObjectMeta: meta(n), Rules: access[n].rules()}
		binding := &rbacv1.RoleBinding{ObjectMeta: meta(n),
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: ns}}}
		roles, bindings = append(roles, role), append(bindings, binding)
	}
	return sa, roles, bindings
}
