package backupconfiguration

import (
	"context"
	"fmt"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller"
)

// repoBackends maps each repository of every session to its backend
// reference: the named one, or the only one when the name is omitted.
func repoBackends(bc *corev1alpha1.BackupConfiguration, refs []corev1alpha1.BackendReference, r *report) map[string]corev1alpha1.BackendReference {
	byName := map[string]corev1alpha1.BackendReference{}
	for _, b := range refs {
		byName[b.Name] = b
	}
	out := map[string]corev1alpha1.BackendReference{}
	for _, s := range bc.Spec.Sessions {
		for _, repo := range s.Repositories {
			name := repo.Backend
			switch {
			case name == "" && len(refs) == 1:
				name = refs[0].Name
			case name == "" && len(bc.Spec.Backends) == 0:
				name = corev1alpha1.DefaultBackendName
			case name == "":
				r.fail(corev1alpha1.ConditionBackendsReady, ReasonBackendInvalid, fmt.Sprintf("session %s: repository %s names no backend and there are %d: set repositories[].backend", s.Name, repo.Name, len(refs)), true)
				continue
			}
			b, ok := byName[name]
			if !ok {
				if len(refs) > 0 || len(bc.Spec.Backends) > 0 {
					r.fail(corev1alpha1.ConditionBackendsReady, ReasonBackendInvalid, fmt.Sprintf("session %s: repository %s uses backend %q, which is not in spec.backends", s.Name, repo.Name, name), true)
				}
				continue
			}
			out[repo.Name] = b
		}
	}
	return out
}

// desiredRepository is the Repository a config's repository entry asks for.
func desiredRepository(bc *corev1alpha1.BackupConfiguration, info corev1alpha1.RepositoryInfo, b corev1alpha1.BackendReference) *storagev1alpha1.Repository {
	target := bc.Spec.Target
	target.Namespace = bc.Namespace
	policy := info.DeletionPolicy
	if policy == "" {
		policy = storagev1alpha1.RepositoryDeletionDelete
	}
	return &storagev1alpha1.Repository{
		ObjectMeta: metav1.ObjectMeta{
			Name: info.Name, Namespace: bc.Namespace,
			Labels: map[string]string{controller.LabelManagedBy: controller.ManagedByValue, controller.LabelConfig: bc.Name},
		},
		Spec: storagev1alpha1.RepositorySpec{
			AppRef:           target,
			StorageRef:       b.StorageRef.WithNamespace(bc.Namespace),
			Path:             info.Directory,
			EncryptionSecret: info.EncryptionSecret.WithNamespace(bc.Namespace),
			DeletionPolicy:   policy,
		},
	}
}

// ensureRepositories creates the Repositories that are missing, keeps the
// ones this config created in step with it, refuses a name already used
// for another storage or directory, and records their readiness. Only
// backends whose storage is usable get Repositories.
func (c *Controller) ensureRepositories(ctx context.Context, bc *corev1alpha1.BackupConfiguration, backends map[string]backend, refs map[string]corev1alpha1.BackendReference, r *report) error {
	const cond = corev1alpha1.ConditionRepositoriesReady
	var waiting int
	for _, s := range bc.Spec.Sessions {
		for _, info := range s.Repositories {
			b, ok := refs[info.Name]
			if !ok || backends[b.Name].storage == nil {
				waiting++
				continue
			}
			want := desiredRepository(bc, info, b)
			have, err := c.repositories.Repositories(bc.Namespace).Get(info.Name)
			if apierrors.IsNotFound(err) {
				if _, err := c.cairn.StorageV1alpha1().Repositories(bc.Namespace).Create(ctx, want, metav1.CreateOptions{FieldManager: controller.FieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
					return fmt.Errorf("creating Repository %s: %w", info.Name, err)
				}
				c.recorder.Eventf(bc, "Normal", ReasonRepositoryCreated, "Created Repository %s for directory %s of BackupStorage %s/%s", info.Name, info.Directory, want.Spec.StorageRef.Namespace, want.Spec.StorageRef.Name)
				r.fail(cond, ReasonRepositoryWaiting, fmt.Sprintf("Repository %s was just created and is not Ready yet", info.Name), false)
				continue
			}
			if err != nil {
				return fmt.Errorf("reading Repository %s: %w", info.Name, err)
			}
			if msg := conflict(bc, have, want); msg != "" {
				r.fail(cond, ReasonRepositoryConflict, msg, true)
				continue
			}
			if have.Labels[controller.LabelConfig] == bc.Name && !apiequality.Semantic.DeepEqual(have.Spec, want.Spec) {
				upd := have.DeepCopy()
				upd.Spec = want.Spec
				if _, err := c.cairn.StorageV1alpha1().Repositories(bc.Namespace).Update(ctx, upd, metav1.UpdateOptions{FieldManager: controller.FieldManager}); err != nil {
					return fmt.Errorf("updating Repository %s: %w", info.Name, err)
				}
			}
			if have.Status.Phase != storagev1alpha1.RepositoryReady {
				r.fail(cond, ReasonRepositoryNotReady, fmt.Sprintf("Repository %s is not Ready (see its status conditions)", info.Name), false)
			}
		}
	}
	if waiting > 0 {
		r.fail(cond, ReasonRepositoryWaiting, fmt.Sprintf("%d repositories wait for their backend (see condition %s)", waiting, corev1alpha1.ConditionBackendsReady), false)
	}
	r.ok(cond, ReasonRepositoriesReady, "every Repository is Ready")
	return nil
}

// conflict says why an existing Repository cannot serve this config's
// entry, or "" when it can: it must point at the same storage and
// directory, and not belong to another config.
func conflict(bc *corev1alpha1.BackupConfiguration, have, want *storagev1alpha1.Repository) string {
	if owner := have.Labels[controller.LabelConfig]; owner != "" && owner != bc.Name {
		return fmt.Sprintf("Repository %s belongs to BackupConfiguration %s; give this config's repository another name", have.Name, owner)
	}
	hs, ws := have.Spec.StorageRef.WithNamespace(have.Namespace), want.Spec.StorageRef
	if hs != ws || have.Spec.Path != want.Spec.Path {
		return fmt.Sprintf("Repository %s already exists for directory %s of BackupStorage %s/%s, but this config asks for directory %s of BackupStorage %s/%s; use another repository name or fix the directory",
			have.Name, have.Spec.Path, hs.Namespace, hs.Name, want.Spec.Path, ws.Namespace, ws.Name)
	}
	return ""
}
