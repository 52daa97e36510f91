package backupsession

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/names"
)

// ComponentsAnnotation is storagev1alpha1.ComponentsAnnotation, named
// here where the session writes and reads it.
const ComponentsAnnotation = storagev1alpha1.ComponentsAnnotation

var createOpts = metav1.CreateOptions{FieldManager: controller.FieldManager}

// snapshotOf finds the Snapshot of bs for repository, by label (so a
// restarted operator finds what it created under either name).
func (c *Controller) snapshotOf(bs *corev1alpha1.BackupSession, repository string) *storagev1alpha1.Snapshot {
	list, _ := c.snapshots.Snapshots(bs.Namespace).List(labels.SelectorFromSet(labels.Set{
		jobs.LabelBackupSession: bs.Name, jobs.LabelRepository: repository}))
	if len(list) == 0 {
		return nil
	}
	return list[0]
}

// ensureSnapshot creates the Snapshot of one repository, named
// <repository>-<session>-<unix seconds of the BackupSession> (or after the
// BackupSession itself when a session of the same second took that name),
// owned by the Repository, and sets its component count.
func (c *Controller) ensureSnapshot(ctx context.Context, bs *corev1alpha1.BackupSession, p *plan, rp repoPlan) (*storagev1alpha1.Snapshot, error) {
	if s := c.snapshotOf(bs, rp.repo.Name); s != nil {
		return s, nil
	}
	comps := make([]string, 0, len(p.components))
	for _, comp := range p.components {
		comps = append(comps, comp.Name)
	}
	target := p.config.Spec.Target
	target.Namespace = bs.Namespace
	snap := &storagev1alpha1.Snapshot{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: bs.Namespace,
			Labels: map[string]string{
				controller.LabelManagedBy: controller.ManagedByValue, jobs.LabelBackupSession: bs.Name, jobs.LabelRepository: rp.repo.Name,
				controller.LabelConfig: p.config.Name, controller.LabelSession: bs.Spec.Session,
			},
			Annotations:     map[string]string{ComponentsAnnotation: strings.Join(comps, ",")},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(rp.repo, storagev1alpha1.SchemeGroupVersion.WithKind("Repository"))},
		},
		Spec: storagev1alpha1.SnapshotSpec{
			Repository: rp.repo.Name, Session: bs.Spec.Session, BackupSession: bs.Name, AppRef: target,
			Version: "v1", DeletionPolicy: rp.repo.Spec.DeletionPolicy,
		},
	}
	var created *storagev1alpha1.Snapshot
	var err error
	for _, name := range []string{names.Snapshot(rp.repo.Name, bs.Spec.Session, bs.CreationTimestamp.Unix()), names.Join(253, rp.repo.Name, bs.Name)} {
		snap.Name = name
		created, err = c.cairn.StorageV1alpha1().Snapshots(bs.Namespace).Create(ctx, snap, createOpts)
		if apierrors.IsAlreadyExists(err) {
			existing, gerr := c.cairn.StorageV1alpha1().Snapshots(bs.Namespace).Get(ctx, name, metav1.GetOptions{})
			if gerr == nil && existing.Spec.BackupSession == bs.Name {
				created, err = existing, nil
				break
			}
			continue // another session of the same second has this name
		}
		break
	}
	if err != nil {
		return nil, fmt.Errorf("creating the Snapshot of Repository %s: %w", rp.repo.Name, err)
	}
	return created, nil
}

// initSnapshotStatus writes a new Snapshot's component count, phase and
// time. start calls it once the Jobs exist, so a burst of sessions gets its
// Jobs one round trip sooner; a start that failed in between runs again
// and finds the count still zero.
func (c *Controller) initSnapshotStatus(ctx context.Context, s *storagev1alpha1.Snapshot, components int) error {
	if s.Status.TotalComponents != 0 {
		return nil
	}
	return c.patchSnapshotStatus(ctx, s, map[string]any{
		"totalComponents": components, "phase": storagev1alpha1.SnapshotPending, "snapshotTime": metav1.NewTime(c.now()),
	})
}

// patchSnapshotStatus merge-patches fields of a Snapshot's status, leaving
// the components the runners write alone.
func (c *Controller) patchSnapshotStatus(ctx context.Context, s *storagev1alpha1.Snapshot, status map[string]any) error {
	body, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return err
	}
	_, err = c.cairn.StorageV1alpha1().Snapshots(s.Namespace).Patch(ctx, s.Name, types.MergePatchType, body,
		metav1.PatchOptions{FieldManager: controller.FieldManager}, "status")
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("updating the status of Snapshot %s: %w", s.Name, err)
	}
	return nil
}

// failComponent records a component's failure in its Snapshot when its
// runner could not (killed, never started, Job deleted).
func (c *Controller) failComponent(ctx context.Context, s *storagev1alpha1.Snapshot, component, msg string) error {
	if cur, ok := s.Status.Components[component]; ok && (cur.Phase == storagev1alpha1.ComponentFailed || cur.Phase == storagev1alpha1.ComponentSucceeded) {
		return nil
	}
	return c.patchSnapshotStatus(ctx, s, map[string]any{"components": map[string]any{
		component: map[string]any{"phase": storagev1alpha1.ComponentFailed, "error": msg}}})
}

// runnerAccess is what the runner of bs may touch: the session, its
// Snapshots, their Repositories and BackupStorages, and the Secrets those
// name (credentials and repository password).
func runnerAccess(bs *corev1alpha1.BackupSession, p *plan, snaps []*storagev1alpha1.Snapshot) jobs.Access {
	a := jobs.Access{}
	a.BackupSession(bs.Namespace, bs.Name)
	for _, s := range snaps {
		a.Snapshot(s.Namespace, s.Name)
	}
	for _, rp := range p.repos {
		a.Repository(rp.repo.Namespace, rp.repo.Name)
		a.Storage(rp.storage.Namespace, rp.storage.Name)
		a.Secret(rp.storage.Namespace, blob.SecretName(&rp.storage.Spec.Storage))
		enc := rp.repo.Spec.EncryptionSecret.WithNamespace(rp.repo.Namespace)
		a.Secret(enc.Namespace, enc.Name)
	}
	volumeSnapshotAccess(a, bs, p)
	return a
}

// storageSecret is the credentials Secret a BackupStorage names.
