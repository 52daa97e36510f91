package backupstorage

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/controller"
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
	if bs.Spec.DeletionPolicy != storagev1.DeletionPolicyWipeOut {
		c.recorder.Eventf(bs, corev1.EventTypeNormal, EventDataKept, "deletionPolicy is %s: the data under %s is kept", bs.Spec.DeletionPolicy, u)
		return workloop.Done(), c.release(ctx, bs)
	}
	n, err := c.wipe(ctx, bs)
	if err == nil {
		c.recorder.Eventf(bs, corev1.EventTypeNormal, EventWiped, "deletionPolicy is WipeOut: deleted %d objects under %s", n, u)
		c.backoff.Succeeded(bs.UID)
		return workloop.Done(), c.release(ctx, bs)
	}
	var be *blob.Error
	if !errors.As(err, &be) && !errors.Is(err, blob.ErrLocal) {
		return workloop.Done(), err // the API server; retried with the queue's backoff
	}
	if giveUp := storageops.GiveUpAt(bs); !c.now().Before(giveUp) {
		c.recorder.Eventf(bs, corev1.EventTypeWarning, EventCleanupAbandoned,
			"Gave up wiping %s after %s: %v. The data under it was left in place (%d objects were deleted first): delete it with the store's own tools", u, storageops.GiveUpAfter, err, n)
		c.backoff.Succeeded(bs.UID)
		return workloop.Done(), c.release(ctx, bs)
	}
	c.recorder.Eventf(bs, corev1.EventTypeWarning, EventWipeFailed, "Could not wipe %s yet, retrying until %s: %v",
		u, storageops.GiveUpAt(bs).UTC().Format(time.RFC3339), err)
	return workloop.After(min(c.backoff.Failed(bs.UID), storageops.GiveUpAt(bs).Sub(c.now())+time.Second)), nil
}

// wipe deletes every object under the storage's prefix.
func (c *Controller) wipe(ctx context.Context, bs *storagev1.BackupStorage) (int, error) {
	if bs.Spec.Storage.Provider == storagev1.ProviderLocal {
		return 0, fmt.Errorf("local storages are wiped by a Job that mounts the volume, which this version of the operator does not run: %w", blob.ErrLocal)
	}
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

// release removes the finalizer, letting the deletion finish.
func (c *Controller) release(ctx context.Context, bs *storagev1.BackupStorage) error {
	upd := bs.DeepCopy()
	upd.Finalizers = storageops.WithoutFinalizer(bs)
	_, err := c.cairn.StorageV1alpha1().BackupStorages(bs.Namespace).Update(ctx, upd, metav1.UpdateOptions{FieldManager: controller.FieldManager})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("removing finalizer: %w", err)
	}
	return nil
}
