package backupstorage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/klog/v2"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
	"github.com/cairnbackup/cairn/pkg/controller/internal/workloop"
)

// wipeTimeout bounds one attempt at wiping a storage.
const wipeTimeout = 5 * time.Minute

// finalize carries out the deletionPolicy of a BackupStorage being
// deleted: Delete keeps the data; WipeOut removes everything under the
// prefix, retrying with backoff until storageops.GiveUpAfter, after
// which the finalizer goes anyway with an Event naming what was left.
func (c *Controller) finalize(ctx context.Context, bs *storagev1.BackupStorage) (workloop.Result, error) {
	if !storageops.HasFinalizer(bs) {
		return workloop.Done(), nil
	}
	u, _ := blob.StorageURL(&bs.Spec.Storage)
	if bs.Spec.Storage.Provider == storagev1.ProviderLocal {
		u = volumeURL(bs)
	}
	cleanup := storageops.Cleanup{Recorder: c.recorder, Backoff: &c.backoff, Logger: klog.FromContext(ctx)}
	if bs.Spec.DeletionPolicy != storagev1.DeletionPolicyWipeOut {
		cleanup.Kept(bs, string(bs.Spec.DeletionPolicy), u)
		return workloop.Done(), c.release(ctx, bs)
	}
	var n int
	var err error
	if bs.Spec.Storage.Provider == storagev1.ProviderLocal && storageops.Terminating(c.namespaces, bs.Namespace) {
		// No Job can be created in a namespace being deleted.
		cleanup.Abandon(bs, u, 0, errors.New("the volume is wiped by a Job, and none can start in a namespace being deleted"),
			"at once: namespace "+bs.Namespace+" is being deleted")
		return workloop.Done(), c.release(ctx, bs)
	}
	if bs.Spec.Storage.Provider == storagev1.ProviderLocal {
		var done bool
		if n, done, err = c.wipeLocal(ctx, bs); err == nil && !done {
			// The Job's end wakes this storage; the requeue is a safety net.
			return workloop.After(time.Minute), nil
		}
	} else {
		n, err = c.wipe(ctx, bs)
	}
	var be *blob.Error
	if err != nil && !errors.As(err, &be) {
		return workloop.Done(), err // the API server; retried with the queue's backoff
	}
	if release, requeue := cleanup.Settle(bs, u, n, err, c.hopeless(bs, err), c.now()); !release {
		return workloop.After(requeue), nil
	}
	return workloop.Done(), c.release(ctx, bs)
}

// wipe deletes every object under the storage's prefix.
func (c *Controller) wipe(ctx context.Context, bs *storagev1.BackupStorage) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, wipeTimeout)
	defer cancel()
	b, err := c.open(ctx, bs)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	klog.FromContext(ctx).V(2).Info("Wiping BackupStorage", "backupStorage", klog.KObj(bs), "url", b.URL())
	n, err := blob.Wipe(ctx, b, "")
	if err != nil {
		return n, blob.Check(err, "wiping "+b.URL())
	}
	return n, nil
}

// hopeless says why waiting cannot mend a failed wipe ("" when it may):
// a Secret missing from a namespace being deleted can never be created
// again, so the finalizer stops at once instead of holding the namespace's
// deletion up until storageops.GiveUpAfter.
func (c *Controller) hopeless(bs *storagev1.BackupStorage, err error) string {
	if blob.ReasonOf(err) != blob.ReasonSecretMissing || !storageops.Terminating(c.namespaces, bs.Namespace) {
		return ""
	}
	return fmt.Sprintf("at once: namespace %s is being deleted, so Secret %s/%s cannot be created again", bs.Namespace, bs.Namespace, blob.SecretName(&bs.Spec.Storage))
}

// release removes the finalizer, letting the deletion finish.
func (c *Controller) release(ctx context.Context, bs *storagev1.BackupStorage) error {
	return storageops.Release(ctx, bs, c.cairn.StorageV1alpha1().BackupStorages(bs.Namespace).Update)
}
