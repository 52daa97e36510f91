// Package backupstorage brings a BackupStorage's bucket into use: it reads
// the credentials Secret (on demand; Secrets are watched as metadata only),
// opens the bucket through pkg/blob, writes <prefix>/metadata.yaml with a
// conditional create, adopts the metadata.yaml of another cluster instead
// of writing over it and then recreates the Repositories recorded in the
// storage and the Snapshots recorded next to each (owned by their
// Repository, status restored), so a new cluster restores from an old
// bucket. Status says Ready or NotReady with conditions naming what to
// fix; failures are re-checked with backoff, and at once when the Secret
// changes. On deletion, deletionPolicy WipeOut removes the data under the
// prefix.
package backupstorage

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	listers "github.com/cairnbackup/cairn/client/listers/storage/v1alpha1"
	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/controller/internal/secretcache"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
	"github.com/cairnbackup/cairn/pkg/controller/internal/workloop"
)

// Kind names this controller's queue and metrics.
const Kind = "backupstorage"

// bySecret indexes BackupStorages by "<ns>/<name>" of their Secret.
const bySecret = "secret"

// byStorage indexes Repositories by "<ns>/<name>" of their BackupStorage,
// for status.repositories. (The Repository controller has an index of the
// same content on the same shared informer, under its own name.)
const byStorage = "backupstorage.storage"

// checkTimeout bounds one check of a bucket.
const checkTimeout = 30 * time.Second

// recheckReady is how often a Ready storage is looked at again: a read of
// metadata.yaml, no API write.
const recheckReady = 10 * time.Minute

// Controller reconciles BackupStorages.
type Controller struct {
	loop         *workloop.Loop
	cairn        cairnclient.Interface
	recorder     record.EventRecorder
	storages     listers.BackupStorageLister
	byIndex      cache.Indexer
	repositories listers.RepositoryLister
	repoIndex    cache.Indexer
	snapshots    listers.SnapshotLister
	namespaces   corelisters.NamespaceLister
	cluster      *storageops.ClusterID
	backoff      storageops.Backoff
	open         storageops.Opener
	local        storageops.LocalJobs
	now          func() time.Time
}

// New registers the controller's informers and handlers.
func New(d controller.Deps) (*Controller, error) {
	bsInf := d.Informers.Cairn.Storage().V1alpha1().BackupStorages()
	repoInf := d.Informers.Cairn.Storage().V1alpha1().Repositories()
	nsInf := d.Informers.Kube.Core().V1().Namespaces()
	jobInf := d.Informers.Managed.Batch().V1().Jobs()
	c := &Controller{
		cairn: d.Cairn, recorder: d.Recorder,
		storages: bsInf.Lister(), byIndex: bsInf.Informer().GetIndexer(), repositories: repoInf.Lister(), repoIndex: repoInf.Informer().GetIndexer(),
		namespaces: nsInf.Lister(), snapshots: d.Informers.Cairn.Storage().V1alpha1().Snapshots().Lister(),
		cluster: storageops.NewClusterID(d.Kube), now: time.Now,
		local: storageops.LocalJobs{Kube: d.Kube, Jobs: jobInf.Lister(), Image: d.RunnerImage},
	}
	secretReader := secretcache.New(d)
	c.open = storageops.BucketOpener(secretReader)
	c.loop = workloop.New(Kind, c.sync, d.Metrics)
	if err := bsInf.Informer().AddIndexers(cache.Indexers{bySecret: indexSecret}); err != nil {
		return nil, fmt.Errorf("%s: adding index: %w", Kind, err)
	}
	if _, err := bsInf.Informer().AddEventHandler(c.loop.Handlers()); err != nil {
		return nil, err
	}
	// A Repository that comes or goes changes its storage's
	// status.repositories (storageRef and path are immutable).
	if err := repoInf.Informer().AddIndexers(cache.Indexers{byStorage: indexRepositoryStorage}); err != nil {
		return nil, fmt.Errorf("%s: adding index: %w", Kind, err)
	}
	if _, err := repoInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: c.repositoryChanged, DeleteFunc: c.repositoryChanged}); err != nil {
		return nil, err
	}
	// Namespaces: a finalizer does not wait for a Secret in one being deleted.
	_ = nsInf.Informer()
	// The Jobs of local storages wake the storage that owns them.
	if _, err := jobInf.Informer().AddEventHandler(workloop.HandlersFunc(c.jobChanged)); err != nil {
		return nil, err
	}
	secrets := d.Informers.Metadata.ForResource(corev1.SchemeGroupVersion.WithResource("secrets"))
	if _, err := secrets.Informer().AddEventHandler(workloop.HandlersFunc(c.secretChanged)); err != nil {
		return nil, err
	}
	return c, nil
}

// Run processes the queue until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) { c.loop.Run(ctx, workers) }

func indexSecret(obj any) ([]string, error) {
	bs, ok := obj.(*storagev1.BackupStorage)
	if !ok {
		return nil, fmt.Errorf("indexing: expected a BackupStorage, got %T", obj)
	}
	if name := blob.SecretName(&bs.Spec.Storage); name != "" {
		return []string{bs.Namespace + "/" + name}, nil
	}
	return nil, nil
}

// secretChanged wakes the storages that use a Secret that was created,
// changed or deleted, so a fixed Secret is re-checked at once.
func (c *Controller) secretChanged(obj any) {
	name, err := cache.DeletionHandlingObjectToName(obj)
	if err != nil {
		return
	}
	users, err := c.byIndex.ByIndex(bySecret, name.String())
	if err != nil {
		return
	}
	for _, u := range users {
		c.loop.Enqueue(u)
	}
}

// jobChanged wakes the BackupStorage that owns a storage Job.
func (c *Controller) jobChanged(obj any) {
	o, ok := storageops.JobObject(obj)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOf(o); ref != nil && ref.Kind == "BackupStorage" && ref.APIVersion == storagev1.SchemeGroupVersion.String() {
		c.loop.EnqueueName(o.GetNamespace(), ref.Name)
	}
}
