package backupstorage

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
	"github.com/cairnbackup/cairn/pkg/controller/internal/workloop"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

// checked is what one check of a storage found.
type checked struct {
	conds   []metav1.Condition
	requeue time.Duration
}

func (c *Controller) sync(ctx context.Context, key cache.ObjectName) (workloop.Result, error) {
	bs, err := c.storages.BackupStorages(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		return workloop.Done(), nil
	}
	if err != nil {
		return workloop.Done(), err
	}
	if bs.DeletionTimestamp != nil {
		return c.finalize(ctx, bs)
	}
	if !storageops.HasFinalizer(bs) {
		// The update comes back through the informer and is synced then.
		return workloop.Done(), storageops.AddFinalizer(ctx, bs, c.cairn.StorageV1alpha1().BackupStorages(bs.Namespace).Update)
	}
	res, err := c.check(ctx, bs)
	if err != nil {
		return workloop.Done(), err
	}
	repos, err := c.repositoryInfos(bs)
	if err != nil {
		return workloop.Done(), err
	}
	if err := c.writeStatus(ctx, bs, res.conds, repos); err != nil {
		return workloop.Done(), err
	}
	return workloop.After(res.requeue), nil
}

// check opens the bucket, initialises or adopts it, and imports the
// Repositories of an adopted storage.
func (c *Controller) check(ctx context.Context, bs *storagev1.BackupStorage) (checked, error) {
	logger := klog.FromContext(ctx)
	var conds []metav1.Condition
	secret := blob.SecretName(&bs.Spec.Storage)
	if secret == "" {
		conds = append(conds, storageops.Condition(storagev1.ConditionBackendSecretFound, true, ReasonDefaultCredentials,
			"no secretName is set: the operator's own identity (workload identity, instance role) is used"))
	}
	if bs.Spec.Storage.Provider == storagev1.ProviderLocal {
		return c.checkLocal(ctx, bs, conds)
	}
	octx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	b, err := c.open(octx, bs)
	var be *blob.Error
	if errors.As(err, &be) {
		logger.V(2).Info("BackupStorage not usable", "backupStorage", klog.KObj(bs), "reason", be.Reason)
		return checked{conds: append(conds, failed(secret, be)...), requeue: c.backoff.Failed(bs.UID)}, nil
	}
	if err != nil {
		return checked{}, err
	}
	defer b.Close()
	if secret != "" {
		conds = append(conds, storageops.Condition(storagev1.ConditionBackendSecretFound, true, ReasonSecretFound,
			fmt.Sprintf("Secret %s holds the credentials and the store accepts them", secret)))
	}
	id, err := c.cluster.Get(ctx)
	if err != nil {
		return checked{}, err
	}
	m, cond, err := c.ensureMetadata(octx, bs, b, id)
	if err != nil {
		return checked{}, err
	}
	conds = append(conds, cond)
	if cond.Status != metav1.ConditionTrue {
		return checked{conds: conds, requeue: c.backoff.Failed(bs.UID)}, nil
	}
	old := meta.FindStatusCondition(bs.Status.Conditions, ConditionRepositoriesImported)
	switch {
	case old != nil && old.Status == metav1.ConditionTrue && old.ObservedGeneration == bs.Generation:
		// Imported already: the listing of the whole storage is not repeated.
		conds = append(conds, *old)
	case m.Cluster != id || m.BackupStorage.UID != bs.UID:
		// Adopted: recreate the Repositories the storage records.
		imp, ok := c.importRepositories(octx, bs, b, id)
		conds = append(conds, imp)
		if !ok {
			return checked{conds: conds, requeue: c.backoff.Failed(bs.UID)}, nil
		}
	}
	c.backoff.Succeeded(bs.UID)
	return checked{conds: conds, requeue: recheckReady}, nil
}

// failed are the conditions of a bucket that could not be opened.
func failed(secret string, e *blob.Error) []metav1.Condition {
	msg := e.Error()
	switch e.Reason {
	case blob.ReasonSecretMissing, blob.ReasonKeyMissing:
		return []metav1.Condition{
			storageops.Condition(storagev1.ConditionBackendSecretFound, false, string(e.Reason), msg),
			storageops.Condition(storagev1.ConditionStorageInitialized, false, ReasonWaitingForSecret,
				fmt.Sprintf("the bucket is checked once Secret %s holds the credentials (see %s)", secret, storagev1.ConditionBackendSecretFound)),
		}
	}
	var out []metav1.Condition
	if secret != "" {
		out = append(out, storageops.Condition(storagev1.ConditionBackendSecretFound, true, ReasonSecretFound, fmt.Sprintf("Secret %s holds the credentials", secret)))
	}
	if e.Reason == blob.ReasonCredentialsRejected && secret != "" {
		msg = fmt.Sprintf("%s (Secret %s)", msg, secret)
	}
	return append(out, storageops.Condition(storagev1.ConditionStorageInitialized, false, string(e.Reason), msg))
}

// ensureMetadata writes metadata.yaml with a conditional create, or reads
// the one there: another cluster's (or another BackupStorage's) is
// adopted as it is. The condition is StorageInitialized's.
func (c *Controller) ensureMetadata(ctx context.Context, bs *storagev1.BackupStorage, b *backend.Backend, cluster string) (*blob.StorageMetadata, metav1.Condition, error) {
	const cond = storagev1.ConditionStorageInitialized
	m, err := blob.ReadStorageMetadata(ctx, b)
	if blob.IsNotFound(err) {
		mine := &blob.StorageMetadata{Cluster: cluster, CreatedAt: c.now().UTC().Truncate(time.Second),
			BackupStorage: blob.ObjectRef{Namespace: bs.Namespace, Name: bs.Name, UID: bs.UID}}
		err = blob.CreateStorageMetadata(ctx, b, mine)
		if err == nil {
			c.recorder.Eventf(bs, corev1.EventTypeNormal, EventInitialized, "Wrote %s to %s", blob.MetadataKey, b.URL())
			return mine, storageops.Condition(cond, true, ReasonInitialized, fmt.Sprintf("%s/%s was written by this BackupStorage", b.URL(), blob.MetadataKey)), nil
		}
		if blob.IsExists(err) {
			// Another writer was first: read what it wrote.
			m, err = blob.ReadStorageMetadata(ctx, b)
		}
	}
	switch {
	case errors.Is(err, blob.ErrRecord):
		return nil, storageops.Condition(cond, false, ReasonMetadataUnreadable,
			fmt.Sprintf("%v: point the BackupStorage at another prefix, or remove %s if it is not Cairn's", err, blob.MetadataKey)), nil
	case err != nil:
		e := blob.Check(err, "using "+blob.MetadataKey+" in "+b.URL()).(*blob.Error)
		return nil, storageops.Condition(cond, false, string(e.Reason), e.Error()), nil
	}
	return m, c.metadataCondition(bs, m, cluster, b.URL()), nil
}

// metadataCondition is StorageInitialized's condition for the
// metadata.yaml m found at where: this BackupStorage's, or adopted.
func (c *Controller) metadataCondition(bs *storagev1.BackupStorage, m *blob.StorageMetadata, cluster, where string) metav1.Condition {
	const cond = storagev1.ConditionStorageInitialized
	if m.Cluster == cluster && m.BackupStorage.UID == bs.UID {
		return storageops.Condition(cond, true, ReasonInitialized, fmt.Sprintf("%s/%s was written by this BackupStorage", where, blob.MetadataKey))
	}
	msg := fmt.Sprintf("%s/%s was written by BackupStorage %s of cluster %s on %s and is kept: this BackupStorage uses the storage as it is",
		where, blob.MetadataKey, m.BackupStorage, m.Cluster, m.CreatedAt.Format(time.RFC3339))
	if old := meta.FindStatusCondition(bs.Status.Conditions, cond); old == nil || old.Reason != ReasonAdopted {
		c.recorder.Eventf(bs, corev1.EventTypeNormal, EventAdopted, "Adopted %s/%s of BackupStorage %s of cluster %s", where, blob.MetadataKey, m.BackupStorage, m.Cluster)
	}
	return storageops.Condition(cond, true, ReasonAdopted, msg)
}

// writeStatus writes the status the conditions and the Repositories
// give, if it changed.
func (c *Controller) writeStatus(ctx context.Context, bs *storagev1.BackupStorage, conds []metav1.Condition, repos []storagev1.RepositoryInfo) error {
	st := bs.Status.DeepCopy()
	st.Repositories = repos
	st.Conditions = storageops.MergeConditions(bs.Status.Conditions, conds, bs.Generation, c.now())
	st.Phase = st.CalculatePhase()
	st.ObservedGeneration = bs.Generation
	if apiequality.Semantic.DeepEqual(&bs.Status, st) {
		return nil
	}
	upd := bs.DeepCopy()
	upd.Status = *st
	// A conflict means a newer version is on its way through the informer.
	return storageops.Write(ctx, upd, c.cairn.StorageV1alpha1().BackupStorages(bs.Namespace).UpdateStatus, "writing status")
}
