package repository

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

// ensureRecord makes the directory's repository.yaml name this
// Repository: created if missing (conditional create), kept if it already
// does, taken over if its owner is of another cluster or no longer
// exists, refused if another live Repository of this cluster owns it.
// The condition is RepositoryInitialized's.
func (c *Controller) ensureRecord(ctx context.Context, repo *storagev1.Repository, bs *storagev1.BackupStorage) (metav1.Condition, time.Duration, error) {
	const cond = storagev1.ConditionRepositoryInitialized
	dir, err := blob.CleanDirectory(repo.Spec.Path)
	if err != nil {
		return storageops.Condition(cond, false, ReasonInvalidPath, err.Error()+": fix spec.path"), 0, nil
	}
	repoURL, err := blob.RepositoryURL(&bs.Spec.Storage, dir)
	if err != nil {
		return storageops.Condition(cond, false, ReasonInvalidPath, err.Error()), 0, nil
	}
	if bs.Spec.Storage.Provider == storagev1.ProviderLocal {
		return c.recordLocal(ctx, repo, bs, dir, repoURL)
	}
	id, err := c.cluster.Get(ctx)
	if err != nil {
		return metav1.Condition{}, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	b, err := c.open(ctx, bs)
	if cd, failed := blobCondition(err, "opening the storage"); failed {
		return cd, c.backoff.Failed(repo.UID), nil
	}
	defer b.Close()

	mine := &blob.RepositoryMetadata{Cluster: id, Spec: repo.Spec, CreatedAt: c.now().UTC().Truncate(time.Second),
		Repository: blob.ObjectRef{Namespace: repo.Namespace, Name: repo.Name, UID: repo.UID}}
	ready := func(reason, how string) (metav1.Condition, time.Duration, error) {
		c.backoff.Succeeded(repo.UID)
		return storageops.Condition(cond, true, reason, fmt.Sprintf("%s; the repository is %s (open it with `cairn repo snapshots --repo %s`), initialised by the first backup", how, repoURL, repoURL)), recheckReady, nil
	}
	m, err := blob.ReadRepositoryMetadata(ctx, b, dir)
	if blob.IsNotFound(err) {
		err = blob.CreateRepositoryMetadata(ctx, b, dir, mine)
		if err == nil {
			c.recorder.Eventf(repo, corev1.EventTypeNormal, EventRecorded, "Wrote %s/%s", repoURL, blob.RepositoryFile)
			return ready(ReasonInitialized, "this Repository owns directory "+dir)
		}
		if blob.IsExists(err) {
			m, err = blob.ReadRepositoryMetadata(ctx, b, dir)
		}
	}
	if errors.Is(err, blob.ErrRecord) {
		return storageops.Condition(cond, false, ReasonRecordUnreadable,
			fmt.Sprintf("%v: use another spec.path, or remove the file if the directory is not Cairn's", err)), c.backoff.Failed(repo.UID), nil
	}
	if cd, failed := blobCondition(err, "reading "+blob.RepositoryFile+" of "+repoURL); failed {
		return cd, c.backoff.Failed(repo.UID), nil
	}
	owner := m.Repository
	switch {
	case m.Cluster == id && owner.UID == repo.UID:
		return ready(ReasonInitialized, "this Repository owns directory "+dir)
	case m.Cluster == id && c.alive(owner):
		return storageops.Condition(cond, false, ReasonDirectoryOwned,
			fmt.Sprintf("directory %s of BackupStorage %s/%s belongs to Repository %s (uid %s) of this cluster: use another spec.path, or delete that Repository first", dir, bs.Namespace, bs.Name, owner, owner.UID)), 0, nil
	case m.Cluster != id && meta.IsStatusConditionTrue(repo.Status.Conditions, cond):
		// Adopted earlier; a cluster still writing its own record is not
		// fought over (the other cluster would take it back in turn).
		return ready(ReasonAdopted, fmt.Sprintf("directory %s, recorded by Repository %s of cluster %s, is continued", dir, owner, m.Cluster))
	}
	if err := c.takeOver(ctx, b, dir, mine); err != nil {
		cd, _ := blobCondition(err, "recording this Repository in "+repoURL)
		return cd, c.backoff.Failed(repo.UID), nil
	}
	klog.FromContext(ctx).V(2).Info("Adopted directory", "repository", klog.KObj(repo), "directory", dir, "previousOwner", owner.String(), "previousCluster", m.Cluster)
	c.recorder.Eventf(repo, corev1.EventTypeNormal, EventAdopted, "Continuing directory %s, recorded by Repository %s of cluster %s, which is gone or elsewhere", dir, owner, m.Cluster)
	return ready(ReasonAdopted, fmt.Sprintf("directory %s, recorded by Repository %s of cluster %s, is continued", dir, owner, m.Cluster))
}

// alive reports whether the Repository a record names still exists in
// this cluster (same UID) and is not being deleted.
func (c *Controller) alive(ref blob.ObjectRef) bool {
	r, err := c.repositories.Repositories(ref.Namespace).Get(ref.Name)
	return err == nil && r.UID == ref.UID && r.DeletionTimestamp == nil
}

// takeOver replaces a record by this Repository's. Two Repositories
// taking over at once both delete, and the conditional create lets only
// one win; the other reads the winner's record on its next sync.
func (c *Controller) takeOver(ctx context.Context, b *backend.Backend, dir string, mine *blob.RepositoryMetadata) error {
	if err := b.Delete(ctx, blob.RepositoryKey(dir)); err != nil {
		return err
	}
	return blob.CreateRepositoryMetadata(ctx, b, dir, mine)
}
