package backupstorage

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

// AnnotationImportedFrom is set on a Repository recreated from an adopted
// storage: the cluster whose repository.yaml it was made from.
const AnnotationImportedFrom = "storage.cairn.dev/imported-from-cluster"

// importRepositories recreates the Repositories recorded in an adopted
// storage (repository.yaml files) that do not exist in this cluster, so
// restores can start from them: those of another cluster, and those of
// this cluster whose Repository is gone (the storage was deleted with its
// Repositories, data kept, and is now taken up again by a new
// BackupStorage). A record whose Repository lives is left to it. The
// condition is RepositoriesImported's; ok is false when some could not be
// made.
func (c *Controller) importRepositories(ctx context.Context, bs *storagev1.BackupStorage, b *backend.Backend, cluster string) (metav1.Condition, bool) {
	const cond = ConditionRepositoriesImported
	found, err := blob.FindRepositories(ctx, b)
	if err != nil {
		e := blob.Check(err, "listing the repositories in "+b.URL()).(*blob.Error)
		return storageops.Condition(cond, false, string(e.Reason), e.Error()), false
	}
	return c.importFound(ctx, bs, b, found, cluster)
}

// importFound recreates the Repositories of the records found (see
// importRepositories) and, when the bucket b is open (not for a local
// storage, which only a Job reaches), their Snapshots.
func (c *Controller) importFound(ctx context.Context, bs *storagev1.BackupStorage, b *backend.Backend, found []blob.FoundRepository, cluster string) (metav1.Condition, bool) {
	const cond = ConditionRepositoriesImported
	var problems []string
	recorded, snapshots := 0, 0
	for _, f := range found {
		if f.Err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", f.Dir, f.Err))
			continue
		}
		if f.Meta.Cluster == cluster && c.alive(f.Meta.Repository) {
			continue
		}
		recorded++
		repo, p := c.recreate(ctx, bs, f)
		if p == "" && b != nil {
			var n int
			n, p = c.importSnapshots(ctx, b, repo, f)
			snapshots += n
		}
		if p != "" {
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		return storageops.Condition(cond, false, ReasonImportIncomplete,
			fmt.Sprintf("%d of the Repositories recorded in the storage could not be recreated: %s", len(problems), strings.Join(problems, "; "))), false
	}
	return storageops.Condition(cond, true, ReasonRepositoriesImported,
		fmt.Sprintf("the %d Repositories recorded in the storage by another cluster or a former BackupStorage exist in this cluster, with the %d Snapshots recorded in them", recorded, snapshots)), true
}

// alive reports whether the Repository a record of this cluster names
// still exists (same UID).
func (c *Controller) alive(ref blob.ObjectRef) bool {
	r, err := c.repositories.Repositories(ref.Namespace).Get(ref.Name)
	return err == nil && r.UID == ref.UID
}

// recreate makes the Repository a repository.yaml records, and returns it
// or what stops it ("" when it exists now).
func (c *Controller) recreate(ctx context.Context, bs *storagev1.BackupStorage, f blob.FoundRepository) (*storagev1.Repository, string) {
	ref := f.Meta.Repository
	if have, err := c.repositories.Repositories(ref.Namespace).Get(ref.Name); err == nil {
		hs := have.Spec.StorageRef.WithNamespace(have.Namespace)
		if hs.Namespace != bs.Namespace || hs.Name != bs.Name || strings.Trim(have.Spec.Path, "/") != f.Dir {
			return nil, fmt.Sprintf("%s: Repository %s already exists for directory %s of BackupStorage %s/%s; rename or delete it", f.Dir, ref, have.Spec.Path, hs.Namespace, hs.Name)
		}
		return have, ""
	}
	spec := f.Meta.Spec
	spec.StorageRef = common.ObjectReference{Namespace: bs.Namespace, Name: bs.Name}
	spec.Path = f.Dir
	if spec.DeletionPolicy == "" {
		spec.DeletionPolicy = storagev1.RepositoryDeletionDelete
	}
	repo := &storagev1.Repository{
		ObjectMeta: metav1.ObjectMeta{Namespace: ref.Namespace, Name: ref.Name,
			Labels:      map[string]string{controller.LabelManagedBy: controller.ManagedByValue},
			Annotations: map[string]string{AnnotationImportedFrom: f.Meta.Cluster}},
		Spec: spec,
	}
	made, err := c.cairn.StorageV1alpha1().Repositories(ref.Namespace).Create(ctx, repo, metav1.CreateOptions{FieldManager: controller.FieldManager})
	switch {
	case err == nil:
		klog.FromContext(ctx).V(2).Info("Recreated Repository", "repository", klog.KObj(repo), "directory", f.Dir)
		c.recorder.Eventf(bs, corev1.EventTypeNormal, EventRepositoryRecreated, "Recreated Repository %s for directory %s, recorded by cluster %s", ref, f.Dir, f.Meta.Cluster)
		return made, ""
	case apierrors.IsAlreadyExists(err):
		// Made by an earlier sync the cache has not seen yet: read it.
		made, err = c.cairn.StorageV1alpha1().Repositories(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Sprintf("%s: reading Repository %s: %v", f.Dir, ref, err)
		}
		return made, ""
	case apierrors.IsNotFound(err):
		return nil, fmt.Sprintf("%s: namespace %s does not exist: create it and Repository %s is recreated", f.Dir, ref.Namespace, ref)
	default:
		c.recorder.Eventf(bs, corev1.EventTypeWarning, EventRepositorySkipped, "Could not recreate Repository %s for directory %s: %v", ref, f.Dir, err)
		return nil, fmt.Sprintf("%s: creating Repository %s: %v", f.Dir, ref, err)
	}
}
