package repository

import (
	"context"
	"errors"
	"fmt"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
	"github.com/cairnbackup/cairn/pkg/controller/internal/usage"
	"github.com/cairnbackup/cairn/pkg/controller/internal/workloop"
)

func (c *Controller) sync(ctx context.Context, key cache.ObjectName) (workloop.Result, error) {
	repo, err := c.repositories.Repositories(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		return workloop.Done(), nil
	}
	if err != nil {
		return workloop.Done(), err
	}
	if repo.DeletionTimestamp != nil {
		return c.finalize(ctx, repo)
	}
	if !storageops.HasFinalizer(repo) {
		return workloop.Done(), storageops.AddFinalizer(ctx, repo, c.cairn.StorageV1alpha1().Repositories(repo.Namespace).Update)
	}
	conds, requeue, checked, err := c.check(ctx, repo)
	if err != nil {
		return workloop.Done(), err
	}
	if err := c.writeStatus(ctx, repo, conds, checked); err != nil {
		return workloop.Done(), err
	}
	return workloop.After(requeue), nil
}

// check finds the storage, the password and the directory's record,
// and moves the periodic integrity check of a usable repository along
// (checked is the outcome of one that finished).
func (c *Controller) check(ctx context.Context, repo *storagev1.Repository) (conds []metav1.Condition, requeue time.Duration, checked *integrityResult, err error) {
	pw, err := c.passwordCondition(ctx, repo)
	if err != nil {
		return nil, 0, nil, err
	}
	conds = []metav1.Condition{pw}
	bs, found := c.storage(repo)
	conds = append(conds, found)
	if bs == nil {
		return append(conds, waiting("the storage is not usable (see "+storagev1.ConditionStorageFound+")")), 0, nil, nil
	}
	if bs.Status.Phase != storagev1.BackupStorageReady {
		return append(conds, storageops.Condition(storagev1.ConditionRepositoryInitialized, false, ReasonStorageNotReady,
			fmt.Sprintf("BackupStorage %s/%s is not Ready: see its status conditions; this Repository is checked again when it is", bs.Namespace, bs.Name))), 0, nil, nil
	}
	init, requeue, err := c.ensureRecord(ctx, repo, bs)
	if err != nil {
		return nil, 0, nil, err
	}
	if pw.Status != metav1.ConditionTrue && requeue == recheckReady {
		requeue = c.backoff.Failed(repo.UID)
	}
	if init.Status == metav1.ConditionTrue && pw.Status == metav1.ConditionTrue {
		var wait time.Duration
		checked, wait, err = c.integrity(ctx, repo, bs, c.hasSucceeded(repo))
		if err != nil {
			return nil, 0, nil, err
		}
		if wait > 0 && (requeue == 0 || wait < requeue) {
			requeue = wait
		}
	}
	return append(conds, init), requeue, checked, nil
}

func waiting(why string) metav1.Condition {
	return storageops.Condition(storagev1.ConditionRepositoryInitialized, false, ReasonWaitingForStorage, why)
}

// storage resolves storageRef: the storage when it exists and may be used
// from the Repository's namespace, and the StorageFound condition.
func (c *Controller) storage(repo *storagev1.Repository) (*storagev1.BackupStorage, metav1.Condition) {
	const cond = storagev1.ConditionStorageFound
	ref := repo.Spec.StorageRef.WithNamespace(repo.Namespace)
	bs, err := c.storages.BackupStorages(ref.Namespace).Get(ref.Name)
	if err != nil {
		return nil, storageops.Condition(cond, false, ReasonStorageNotFound,
			fmt.Sprintf("BackupStorage %s/%s does not exist: create it, or fix spec.storageRef", ref.Namespace, ref.Name))
	}
	if err := usage.Check(bs.Spec.UsagePolicy, "BackupStorage", bs.Namespace, bs.Name, repo.Namespace, c.namespaces); err != nil {
		return nil, storageops.Condition(cond, false, ReasonStorageNotAllowed, err.Error())
	}
	return bs, storageops.Condition(cond, true, ReasonStorageFound, fmt.Sprintf("BackupStorage %s/%s may be used from namespace %s", bs.Namespace, bs.Name, repo.Namespace))
}

// passwordCondition checks that the password Secret exists and holds
// CAIRN_PASSWORD or RESTIC_PASSWORD. The value is never kept.
func (c *Controller) passwordCondition(ctx context.Context, repo *storagev1.Repository) (metav1.Condition, error) {
	const cond = ConditionEncryptionSecretFound
	ref := repo.Spec.EncryptionSecret.WithNamespace(repo.Namespace)
	s, err := c.secret(ctx, ref.Namespace, ref.Name)
	if apierrors.IsNotFound(err) {
		return storageops.Condition(cond, false, ReasonSecretMissing,
			fmt.Sprintf("Secret %s/%s does not exist: create it with the repository password under the key %s", ref.Namespace, ref.Name, KeyPassword)), nil
	}
	if err != nil {
		return metav1.Condition{}, fmt.Errorf("reading Secret %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	for _, k := range []string{KeyPassword, KeyResticPassword} {
		if len(s.Data[k]) > 0 {
			return storageops.Condition(cond, true, ReasonSecretFound, fmt.Sprintf("Secret %s/%s holds the password under %s", ref.Namespace, ref.Name, k)), nil
		}
	}
	return storageops.Condition(cond, false, ReasonKeyMissing,
		fmt.Sprintf("Secret %s/%s has no key %s (or %s): add the repository password under %s", ref.Namespace, ref.Name, KeyPassword, KeyResticPassword, KeyPassword)), nil
}

// writeStatus writes the conditions, phase, observedGeneration and the
// summary of the Repository's Snapshots when they changed.
func (c *Controller) writeStatus(ctx context.Context, repo *storagev1.Repository, conds []metav1.Condition, checked *integrityResult) error {
	st := repo.Status.DeepCopy()
	conds = applyIntegrity(st, repo.Status.Conditions, checked, conds)
	objs, err := c.snapIndex.ByIndex(byRepository, repo.Namespace+"/"+repo.Name)
	if err != nil {
		return fmt.Errorf("listing the Snapshots of %s/%s: %w", repo.Namespace, repo.Name, err)
	}
	snaps := make([]*storagev1.Snapshot, 0, len(objs))
	for _, o := range objs {
		snaps = append(snaps, o.(*storagev1.Snapshot))
	}
	summarize(st, snaps)
	st.Conditions = storageops.MergeConditions(repo.Status.Conditions, conds, repo.Generation, c.now())
	st.Phase = st.CalculatePhase()
	for _, cd := range conds {
		if cd.Type == ConditionEncryptionSecretFound && cd.Status != metav1.ConditionTrue {
			st.Phase = storagev1.RepositoryNotReady
		}
	}
	st.ObservedGeneration = repo.Generation
	if apiequality.Semantic.DeepEqual(&repo.Status, st) {
		return nil
	}
	upd := repo.DeepCopy()
	upd.Status = *st
	return storageops.Write(ctx, upd, c.cairn.StorageV1alpha1().Repositories(repo.Namespace).UpdateStatus, "writing status")
}

// blobCondition is the RepositoryInitialized condition of a bucket error.
func blobCondition(err error, what string) (metav1.Condition, bool) {
	var be *blob.Error
	if !errors.As(err, &be) {
		if err == nil {
			return metav1.Condition{}, false
		}
		be = blob.Check(err, what).(*blob.Error)
	}
	return storageops.Condition(storagev1.ConditionRepositoryInitialized, false, string(be.Reason), be.Error()), true
}
