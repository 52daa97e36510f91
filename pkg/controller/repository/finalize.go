package repository

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
	"github.com/cairnbackup/cairn/pkg/controller/internal/workloop"
	"github.com/cairnbackup/cairn/pkg/jobs"
)

// wipeTimeout bounds one attempt at wiping a repository.
const wipeTimeout = 5 * time.Minute

// Why a wipe did not happen (yet).
var (
	// errNoStorage: the storage of a Repository to wipe is gone.
	errNoStorage = errors.New("its BackupStorage does not exist")
	// errJobImpossible: a local storage's namespace is being deleted, so
	// no Job can start there to wipe its volume.
	errJobImpossible = errors.New("the volume is wiped by a Job, and none can start in a namespace being deleted")
	// errWipeRunning: the Job wiping a local storage's directory runs.
	errWipeRunning = errors.New("the wipe Job runs")
)

// finalize carries out the deletionPolicy of a Repository being deleted:
// Delete keeps the data; WipeOut removes everything under its directory,
// retrying with backoff until storageops.GiveUpAfter, after which the
// finalizer goes anyway with an Event naming what was left.
func (c *Controller) finalize(ctx context.Context, repo *storagev1.Repository) (workloop.Result, error) {
	if !storageops.HasFinalizer(repo) {
		return workloop.Done(), nil
	}
	// A check Job goes with its Repository (owned); its Role in the
	// storage's namespace cannot be owned, so it goes here.
	if err := c.rbac.Remove(ctx, repo.Namespace, jobs.CheckRBACOwner(repo.Name)); err != nil {
		return workloop.Done(), err
	}
	ref := repo.Spec.StorageRef.WithNamespace(repo.Namespace)
	where := fmt.Sprintf("directory %s of BackupStorage %s/%s", repo.Spec.Path, ref.Namespace, ref.Name)
	cleanup := storageops.Cleanup{Recorder: c.recorder, Backoff: &c.backoff, Logger: klog.FromContext(ctx)}
	if repo.Spec.DeletionPolicy != storagev1.RepositoryDeletionWipeOut {
		cleanup.Kept(repo, string(repo.Spec.DeletionPolicy), where)
		return workloop.Done(), c.release(ctx, repo)
	}
	n, err := c.wipe(ctx, repo)
	if errors.Is(err, errWipeRunning) {
		// The Job's end wakes this Repository; the requeue is a safety net.
		return workloop.After(time.Minute), nil
	}
	var be *blob.Error
	if err != nil && !errors.As(err, &be) && !errors.Is(err, errNoStorage) && !errors.Is(err, errJobImpossible) {
		return workloop.Done(), err // the API server; retried with the queue's backoff
	}
	if release, requeue := cleanup.Settle(repo, where, n, err, c.hopeless(repo, err), c.now()); !release {
		return workloop.After(requeue), nil
	}
	return workloop.Done(), c.release(ctx, repo)
}

// wipe deletes every object under the repository's directory.
func (c *Controller) wipe(ctx context.Context, repo *storagev1.Repository) (int, error) {
	ref := repo.Spec.StorageRef.WithNamespace(repo.Namespace)
	bs, err := c.storages.BackupStorages(ref.Namespace).Get(ref.Name)
	if apierrors.IsNotFound(err) {
		return 0, errNoStorage
	}
	if err != nil {
		return 0, err
	}
	dir, err := blob.CleanDirectory(repo.Spec.Path)
	if err != nil {
		return 0, err
	}
	if bs.Spec.Storage.Provider == storagev1.ProviderLocal {
		if storageops.Terminating(c.namespaces, bs.Namespace) {
			return 0, errJobImpossible
		}
		n, done, err := c.wipeLocal(ctx, repo, bs, dir)
		if err == nil && !done {
			return 0, errWipeRunning
		}
		return n, err
	}
	ctx, cancel := context.WithTimeout(ctx, wipeTimeout)
	defer cancel()
	b, err := c.open(ctx, bs)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	n, err := blob.Wipe(ctx, b, dir+"/")
	if err != nil {
		return n, blob.Check(err, "wiping "+dir+" in "+b.URL())
	}
	return n, nil
}

// hopeless says why waiting cannot mend a failed wipe ("" when it may):
// the BackupStorage, or its credentials Secret, is missing from a
// namespace being deleted, where neither can be created again.
func (c *Controller) hopeless(repo *storagev1.Repository, err error) string {
	ref := repo.Spec.StorageRef.WithNamespace(repo.Namespace)
	var what string
	switch {
	case errors.Is(err, errNoStorage):
		what = "BackupStorage " + ref.Namespace + "/" + ref.Name
	case blob.ReasonOf(err) == blob.ReasonSecretMissing:
		what = "the credentials Secret of BackupStorage " + ref.Namespace + "/" + ref.Name
	case errors.Is(err, errJobImpossible):
		what = "a Job that mounts the volume of BackupStorage " + ref.Namespace + "/" + ref.Name
	default:
		return ""
	}
	if !storageops.Terminating(c.namespaces, ref.Namespace) {
		return ""
	}
	return fmt.Sprintf("at once: namespace %s is being deleted, so %s cannot be created again", ref.Namespace, what)
}

// release drops the Repository's maintenance Lease (maintlease.Drop) and
// removes the finalizer, letting the deletion finish.
func (c *Controller) release(ctx context.Context, repo *storagev1.Repository) error {
	if err := c.leases.Drop(ctx, cache.MetaObjectToName(repo), repo.UID); err != nil {
		return err
	}
	return storageops.Release(ctx, repo, c.cairn.StorageV1alpha1().Repositories(repo.Namespace).Update)
}
