package backupstorage

import (
	"cmp"
	"fmt"
	"slices"

	"k8s.io/client-go/tools/cache"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

func indexRepositoryStorage(obj any) ([]string, error) {
	r, ok := obj.(*storagev1.Repository)
	if !ok {
		return nil, fmt.Errorf("indexing: expected a Repository, got %T", obj)
	}
	ref := r.Spec.StorageRef.WithNamespace(r.Namespace)
	return []string{ref.Namespace + "/" + ref.Name}, nil
}

// repositoryChanged wakes the storage of a Repository that was created or
// deleted.
func (c *Controller) repositoryChanged(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if r, ok := obj.(*storagev1.Repository); ok {
		ref := r.Spec.StorageRef.WithNamespace(r.Namespace)
		c.loop.EnqueueName(ref.Namespace, ref.Name)
	}
}

// repositoryInfos is status.repositories: the Repositories that use bs,
// sorted by namespace and name so an unchanged set writes nothing.
func (c *Controller) repositoryInfos(bs *storagev1.BackupStorage) ([]storagev1.RepositoryInfo, error) {
	objs, err := c.repoIndex.ByIndex(byStorage, bs.Namespace+"/"+bs.Name)
	if err != nil {
		return nil, fmt.Errorf("listing the Repositories of %s/%s: %w", bs.Namespace, bs.Name, err)
	}
	var out []storagev1.RepositoryInfo
	for _, o := range objs {
		r := o.(*storagev1.Repository)
		out = append(out, storagev1.RepositoryInfo{Name: r.Name, Namespace: r.Namespace, Path: r.Spec.Path})
	}
	slices.SortFunc(out, func(a, b storagev1.RepositoryInfo) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}
