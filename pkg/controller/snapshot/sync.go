package snapshot

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
	"github.com/cairnbackup/cairn/pkg/controller/internal/workloop"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

// Event reasons.
const (
	// EventRecordFailed: the record could not be written or deleted yet.
	EventRecordFailed = "SnapshotRecordFailed"
	// EventRecordKept: the Snapshot went with its Repository or namespace,
	// and its record stays with the data.
	EventRecordKept = "SnapshotRecordKept"
	// EventRecordAbandoned: the record could not be deleted in time and
	// was left in the storage.
	EventRecordAbandoned = "SnapshotRecordAbandoned"
)

// waitForStorage is when a Snapshot whose Repository or storage is not
// usable yet is looked at again (besides its own updates).
const waitForStorage = time.Minute

// errNoPlace: the Snapshot's Repository or BackupStorage is not there.
var errNoPlace = errors.New("the Snapshot's Repository or its BackupStorage does not exist")

func final(p storagev1.SnapshotPhase) bool {
	return p == storagev1.SnapshotSucceeded || p == storagev1.SnapshotFailed
}

func (c *Controller) sync(ctx context.Context, key cache.ObjectName) (workloop.Result, error) {
	snap, err := c.snapshots.Snapshots(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		return workloop.Done(), nil
	}
	if err != nil {
		return workloop.Done(), err
	}
	if snap.DeletionTimestamp != nil {
		return c.finalize(ctx, snap)
	}
	if !final(snap.Status.Phase) {
		return workloop.Done(), nil
	}
	cluster, err := c.cluster.Get(ctx)
	if err != nil {
		return workloop.Done(), err
	}
	rec := blob.SnapshotRecordOf(snap, cluster)
	digest := rec.Digest()
	if snap.Annotations[blob.RecordedAnnotation] == digest && storageops.HasFinalizer(snap) {
		return workloop.Done(), nil
	}
	repo, bs, dir := c.place(snap)
	if bs == nil {
		return workloop.After(waitForStorage), nil
	}
	if bs.Spec.Storage.Provider == storagev1.ProviderLocal {
		return workloop.Done(), nil // only a Job reaches the volume
	}
	if bs.Status.Phase != storagev1.BackupStorageReady {
		return workloop.After(waitForStorage), nil
	}
	err = c.store(ctx, bs, "writing "+blob.SnapshotKey(dir, snap.Name), func(ctx context.Context, b *backend.Backend) error {
		return blob.WriteSnapshotRecord(ctx, b, dir, rec)
	})
	if err != nil {
		if !isStoreError(err) {
			return workloop.Done(), err // the API server; retried with the queue's backoff
		}
		c.recorder.Eventf(snap, corev1.EventTypeWarning, EventRecordFailed, "Could not write %s to BackupStorage %s/%s yet: %v",
			blob.SnapshotKey(dir, snap.Name), bs.Namespace, bs.Name, err)
		return workloop.After(c.backoff.Failed(snap.UID)), nil
	}
	c.backoff.Succeeded(snap.UID)
	klog.FromContext(ctx).V(2).Info("Recorded Snapshot", "snapshot", klog.KObj(snap), "repository", repo.Name, "key", blob.SnapshotKey(dir, snap.Name))
	upd := snap.DeepCopy()
	if upd.Annotations == nil {
		upd.Annotations = map[string]string{}
	}
	upd.Annotations[blob.RecordedAnnotation] = digest
	if !storageops.HasFinalizer(snap) {
		upd.Finalizers = storageops.WithFinalizer(snap)
	}
	// A conflict means a newer version is on its way and is synced then.
	return workloop.Done(), storageops.Write(ctx, upd, c.cairn.StorageV1alpha1().Snapshots(snap.Namespace).Update, "marking Snapshot "+snap.Name+" recorded")
}

// place is where the Snapshot's record lives: its Repository (the one
// that owns it, by UID, when it has an owner), that Repository's
// BackupStorage and directory. bs is nil when either is missing.
func (c *Controller) place(snap *storagev1.Snapshot) (*storagev1.Repository, *storagev1.BackupStorage, string) {
	repo, err := c.repositories.Repositories(snap.Namespace).Get(snap.Spec.Repository)
	if err != nil {
		return nil, nil, ""
	}
	if ref := metav1.GetControllerOf(snap); ref != nil && ref.UID != repo.UID {
		return nil, nil, ""
	}
	dir, err := blob.CleanDirectory(repo.Spec.Path)
	if err != nil {
		return nil, nil, ""
	}
	ref := repo.Spec.StorageRef.WithNamespace(repo.Namespace)
	bs, err := c.storages.BackupStorages(ref.Namespace).Get(ref.Name)
	if err != nil {
		return nil, nil, ""
	}
	return repo, bs, dir
}

// finalize removes the record of a Snapshot deleted on its own, and keeps
// it when the Snapshot goes with its Repository or its namespace (those
// deletions keep the data, and the record belongs to the data); then it
// releases the finalizer. A record that cannot be deleted is retried
// with backoff, for storageops.GiveUpAfter at most.
func (c *Controller) finalize(ctx context.Context, snap *storagev1.Snapshot) (workloop.Result, error) {
	if !storageops.HasFinalizer(snap) {
		return workloop.Done(), nil
	}
	logger := klog.FromContext(ctx)
	if why := c.keepRecord(snap); why != "" {
		logger.V(2).Info("Keeping the record of a deleted Snapshot", "snapshot", klog.KObj(snap), "why", why)
		return workloop.Done(), c.release(ctx, snap)
	}
	_, bs, dir := c.place(snap)
	err := errNoPlace
	if bs != nil && bs.Spec.Storage.Provider != storagev1.ProviderLocal {
		err = c.store(ctx, bs, "deleting "+blob.SnapshotKey(dir, snap.Name), func(ctx context.Context, b *backend.Backend) error {
			return blob.DeleteSnapshotRecord(ctx, b, dir, snap.Name)
		})
	}
	if err != nil && !errors.Is(err, errNoPlace) && !isStoreError(err) {
		return workloop.Done(), err
	}
	if err == nil {
		logger.V(2).Info("Deleted the record of a dropped Snapshot", "snapshot", klog.KObj(snap), "key", blob.SnapshotKey(dir, snap.Name))
		c.backoff.Succeeded(snap.UID)
		return workloop.Done(), c.release(ctx, snap)
	}
	giveUp := storageops.GiveUpAt(snap)
	if now := c.now(); now.Before(giveUp) && !errors.Is(err, errNoPlace) {
		c.recorder.Eventf(snap, corev1.EventTypeWarning, EventRecordFailed, "Could not delete the Snapshot's record yet, retrying until %s: %v",
			giveUp.UTC().Format(time.RFC3339), err)
		return workloop.After(min(c.backoff.Failed(snap.UID), giveUp.Sub(now)+time.Second)), nil
	}
	c.recorder.Eventf(snap, corev1.EventTypeWarning, EventRecordAbandoned,
		"Gave up deleting the Snapshot's record %s: %v. A storage adopted later recreates this Snapshot from it: delete the file with the store's own tools", blob.SnapshotKey(dir, snap.Name), err)
	c.backoff.Succeeded(snap.UID)
	return workloop.Done(), c.release(ctx, snap)
}

// keepRecord says why the record of a deleted Snapshot stays ("" when it
// goes): its namespace is being deleted, or its Repository is gone, being
// deleted, or another object than the one that owned the Snapshot.
func (c *Controller) keepRecord(snap *storagev1.Snapshot) string {
	if storageops.Terminating(c.namespaces, snap.Namespace) {
		return "namespace " + snap.Namespace + " is being deleted"
	}
	repo, err := c.repositories.Repositories(snap.Namespace).Get(snap.Spec.Repository)
	switch {
	case err != nil:
		return "Repository " + snap.Spec.Repository + " is gone"
	case repo.DeletionTimestamp != nil:
		return "Repository " + snap.Spec.Repository + " is being deleted"
	}
	if ref := metav1.GetControllerOf(snap); ref != nil && ref.UID != repo.UID {
		return "the Repository that owned it is gone"
	}
	return ""
}

// store opens bs and runs op on it. An error of the store is a
// *blob.Error naming what; any other comes from the API server (reading
// the credentials Secret).
func (c *Controller) store(ctx context.Context, bs *storagev1.BackupStorage, what string, op func(context.Context, *backend.Backend) error) error {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	b, err := c.open(ctx, bs)
	if err != nil {
		return err
	}
	defer b.Close()
	return blob.Check(op(ctx, b), what)
}

func isStoreError(err error) bool {
	var be *blob.Error
	return errors.As(err, &be)
}

// release removes the finalizer, letting the deletion finish.
func (c *Controller) release(ctx context.Context, snap *storagev1.Snapshot) error {
	return storageops.Release(ctx, snap, c.cairn.StorageV1alpha1().Snapshots(snap.Namespace).Update)
}
