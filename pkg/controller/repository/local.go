package repository

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
)

// ReasonInitializing: the Job that records the directory on a local
// storage's volume runs.
const ReasonInitializing = "Initializing"

// localLabels tie a Job, which runs in the storage's namespace and is owned
// by the storage, to the Repository it works for.
func localLabels(repo *storagev1.Repository) map[string]string {
	return map[string]string{storageops.LabelRepositoryNamespace: repo.Namespace, storageops.LabelRepositoryName: repo.Name}
}

// recordJob claims dir for repo on bs's volume, replacing a record that
// names takeOver when it is set; one per generation and takeOver.
func recordJob(repo *storagev1.Repository, bs *storagev1.BackupStorage, dir, cluster string, takeOver types.UID) (storageops.LocalJob, error) {
	spec, err := json.Marshal(repo.Spec)
	if err != nil {
		return storageops.LocalJob{}, err
	}
	args := []string{"--dir", dir, "--cluster", cluster, "--namespace", repo.Namespace, "--name", repo.Name, "--uid", string(repo.UID), "--spec", string(spec)}
	if takeOver != "" {
		args = append(args, "--take-over", string(takeOver))
	}
	return storageops.LocalJob{Storage: bs, Verb: "record", Args: args, Labels: localLabels(repo),
		Key: string(repo.UID) + "/" + strconv.FormatInt(repo.Generation, 10) + "/" + string(takeOver)}, nil
}

// recordLocal is ensureRecord for a local storage: a Job reads or writes
// the record, and the operator decides on the owner it reports as for a
// bucket. A recorded directory is not looked at again until the
// Repository's spec changes (the operator cannot read the volume itself).
func (c *Controller) recordLocal(ctx context.Context, repo *storagev1.Repository, bs *storagev1.BackupStorage, dir, repoURL string) (metav1.Condition, time.Duration, error) {
	const cond = storagev1.ConditionRepositoryInitialized
	if old := meta.FindStatusCondition(repo.Status.Conditions, cond); old != nil && old.Status == metav1.ConditionTrue && old.ObservedGeneration == repo.Generation {
		return *old, 0, nil
	}
	id, err := c.cluster.Get(ctx)
	if err != nil {
		return metav1.Condition{}, 0, err
	}
	var takeOver types.UID
	for {
		job, err := recordJob(repo, bs, dir, id, takeOver)
		if err != nil {
			return metav1.Condition{}, 0, err
		}
		res, running, err := c.local.Run(ctx, job)
		switch {
		case err != nil:
			return metav1.Condition{}, 0, err
		case res == nil:
			return storageops.Condition(cond, false, ReasonInitializing, running+": it mounts the volume of BackupStorage "+bs.Namespace+"/"+bs.Name+" and records this Repository in directory "+dir), storageops.LocalJobPoll, nil
		case res.Reason != "":
			return storageops.Condition(cond, false, string(res.Reason), res.Message), c.backoff.Failed(repo.UID), nil
		case res.Repository == nil:
			return metav1.Condition{}, 0, fmt.Errorf("the record Job of %s/%s reported no %s", repo.Namespace, repo.Name, blob.RepositoryFile)
		}
		m := res.Repository
		owner := m.Repository
		switch {
		case owner.UID == repo.UID && takeOver != "":
			c.recorder.Eventf(repo, corev1.EventTypeNormal, EventAdopted, "Continuing directory %s, recorded by a Repository that is gone or of another cluster", dir)
			return c.readyCondition(repo, ReasonAdopted, "this Repository continues directory "+dir, repoURL), 0, nil
		case owner.UID == repo.UID && m.Cluster == id:
			if res.Created {
				c.recorder.Eventf(repo, corev1.EventTypeNormal, EventRecorded, "Wrote %s/%s", repoURL, blob.RepositoryFile)
			}
			return c.readyCondition(repo, ReasonInitialized, "this Repository owns directory "+dir, repoURL), 0, nil
		case m.Cluster == id && c.alive(owner):
			return storageops.Condition(cond, false, ReasonDirectoryOwned,
				fmt.Sprintf("directory %s of BackupStorage %s/%s belongs to Repository %s (uid %s) of this cluster: use another spec.path, or delete that Repository first", dir, bs.Namespace, bs.Name, owner, owner.UID)), 0, nil
		case takeOver != "":
			// The record changed between the two Jobs: look again later.
			return storageops.Condition(cond, false, ReasonDirectoryOwned,
				fmt.Sprintf("directory %s changed owner while this Repository took it over; now recorded by Repository %s of cluster %s", dir, owner, m.Cluster)), c.backoff.Failed(repo.UID), nil
		}
		takeOver = owner.UID // gone, or of another cluster: a second Job takes it over
	}
}

// readyCondition is RepositoryInitialized True, saying how to open it.
func (c *Controller) readyCondition(repo *storagev1.Repository, reason, how, repoURL string) metav1.Condition {
	c.backoff.Succeeded(repo.UID)
	return storageops.Condition(storagev1.ConditionRepositoryInitialized, true, reason,
		fmt.Sprintf("%s; the repository is %s in the volume (open it with `cairn repo snapshots --repo %s` where the volume is mounted), initialised by the first backup", how, repoURL, repoURL))
}

// wipeLocal deletes the repository's directory on a local storage's
// volume through a Job; done is false while it runs.
func (c *Controller) wipeLocal(ctx context.Context, repo *storagev1.Repository, bs *storagev1.BackupStorage, dir string) (n int, done bool, err error) {
	job := storageops.LocalJob{Storage: bs, Verb: "wipe", Args: []string{"--prefix", dir + "/"}, Labels: localLabels(repo), Key: string(repo.UID) + "/wipe"}
	res, _, err := c.local.Run(ctx, job)
	if err != nil || res == nil {
		return 0, false, err
	}
	return res.Deleted, true, res.Err()
}

// jobChanged wakes the Repository a storage Job works for.
func (c *Controller) jobChanged(obj any) {
	o, ok := storageops.JobObject(obj)
	if !ok {
		return
	}
	l := o.GetLabels()
	if name := l[storageops.LabelRepositoryName]; name != "" && l[storageops.LabelRepositoryNamespace] != "" {
		c.loop.EnqueueName(l[storageops.LabelRepositoryNamespace], name)
	}
	// A check Job is owned by its Repository.
	if ref := metav1.GetControllerOf(o); ref != nil && ref.Kind == "Repository" && ref.APIVersion == storagev1.SchemeGroupVersion.String() {
		c.loop.EnqueueName(o.GetNamespace(), ref.Name)
	}
}
