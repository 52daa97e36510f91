package backupstorage

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
)

// ReasonInitializing: the Job that initialises a local storage runs.
const ReasonInitializing = "Initializing"

// volumeURL is how a local storage is named in conditions and Events.
func volumeURL(bs *storagev1.BackupStorage) string {
	l := bs.Spec.Storage.Local
	u := "file://" + path.Clean(l.MountPath)
	if l.SubPath != "" {
		u += " (subPath " + l.SubPath + " of the volume)"
	}
	return u
}

// initJob is the Job that initialises bs's volume; one per generation, so
// a changed volume is initialised again.
func initJob(bs *storagev1.BackupStorage, cluster string) storageops.LocalJob {
	return storageops.LocalJob{Storage: bs, Verb: "init", Key: string(bs.UID) + "/" + strconv.FormatInt(bs.Generation, 10),
		Args: []string{"--cluster", cluster, "--namespace", bs.Namespace, "--name", bs.Name, "--uid", string(bs.UID)}}
}

// wipeJob is the Job that deletes everything on bs's volume.
func wipeJob(bs *storagev1.BackupStorage) storageops.LocalJob {
	return storageops.LocalJob{Storage: bs, Verb: "wipe", Key: string(bs.UID) + "/wipe"}
}

// checkLocal initialises a local storage through a Job that mounts its
// volume, once per generation: the operator cannot look at the volume
// itself, so a Ready local storage is not re-checked until its spec
// changes. An import that failed is tried again with backoff, from the
// same Job's result while it is kept, then from a new Job.
func (c *Controller) checkLocal(ctx context.Context, bs *storagev1.BackupStorage, conds []metav1.Condition) (checked, error) {
	const cond = storagev1.ConditionStorageInitialized
	old := meta.FindStatusCondition(bs.Status.Conditions, cond)
	if old != nil && old.Status == metav1.ConditionTrue && old.ObservedGeneration == bs.Generation &&
		!meta.IsStatusConditionFalse(bs.Status.Conditions, ConditionRepositoriesImported) {
		conds = append(conds, *old)
		if imp := meta.FindStatusCondition(bs.Status.Conditions, ConditionRepositoriesImported); imp != nil {
			conds = append(conds, *imp)
		}
		return checked{conds: conds}, nil
	}
	id, err := c.cluster.Get(ctx)
	if err != nil {
		return checked{}, err
	}
	res, running, err := c.local.Run(ctx, initJob(bs, id))
	if err != nil {
		return checked{}, err
	}
	if res == nil {
		return checked{conds: append(conds, storageops.Condition(cond, false, ReasonInitializing,
			running+": it mounts the volume and writes or reads "+blob.MetadataKey+"; this condition follows it")), requeue: storageops.LocalJobPoll}, nil
	}
	if res.Reason != "" {
		return checked{conds: append(conds, storageops.Condition(cond, false, string(res.Reason), res.Message)), requeue: c.backoff.Failed(bs.UID)}, nil
	}
	if res.Storage == nil {
		return checked{}, fmt.Errorf("the init Job of %s/%s reported no %s", bs.Namespace, bs.Name, blob.MetadataKey)
	}
	conds = append(conds, c.metadataCondition(bs, res.Storage, id, volumeURL(bs)))
	if res.Created {
		c.recorder.Eventf(bs, corev1.EventTypeNormal, EventInitialized, "Wrote %s to %s", blob.MetadataKey, volumeURL(bs))
	}
	if res.Storage.Cluster != id || res.Storage.BackupStorage.UID != bs.UID {
		found := make([]blob.FoundRepository, 0, len(res.Repositories)+len(res.Unread))
		for i := range res.Repositories {
			found = append(found, blob.FoundRepository{Dir: res.Repositories[i].Spec.Path, Meta: &res.Repositories[i]})
		}
		why := errors.New("its repository.yaml could not be read")
		if res.Truncated {
			why = errors.New("its repository.yaml could not be read, or more records were found than a Job's result holds; the next generation of this BackupStorage lists the rest")
		}
		for _, d := range res.Unread {
			found = append(found, blob.FoundRepository{Dir: d, Err: why})
		}
		imp, ok := c.importFound(ctx, bs, nil, found, id)
		conds = append(conds, imp)
		if !ok {
			return checked{conds: conds, requeue: c.backoff.Failed(bs.UID)}, nil
		}
	}
	c.backoff.Succeeded(bs.UID)
	return checked{conds: conds}, nil
}

// wipeLocal deletes everything on a local storage's volume through a Job;
// done is false while the Job runs.
func (c *Controller) wipeLocal(ctx context.Context, bs *storagev1.BackupStorage) (n int, done bool, err error) {
	res, _, err := c.local.Run(ctx, wipeJob(bs))
	if err != nil || res == nil {
		return 0, false, err
	}
	return res.Deleted, true, res.Err()
}
