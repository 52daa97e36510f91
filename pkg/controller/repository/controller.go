// Package repository makes a Repository usable: it checks that its
// BackupStorage exists, is Ready and may be used from the Repository's
// namespace, that the password Secret holds CAIRN_PASSWORD (or
// RESTIC_PASSWORD, so KubeStash users' Secrets work unchanged), and
// writes <prefix>/<directory>/repository.yaml with a conditional create,
// recording the cluster, namespace, name and UID of its owner. A
// directory owned by another live Repository of this cluster is refused
// naming the owner; one recorded by another cluster, or by a Repository
// that no longer exists, is adopted and continued. The engine repository
// at <prefix>/<directory> is initialised by the first backup Job, so the
// operator never derives keys. On deletion, deletionPolicy WipeOut
// removes the data under the directory.
package repository

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	listers "github.com/cairnbackup/cairn/client/listers/storage/v1alpha1"
	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/controller/internal/maintlease"
	"github.com/cairnbackup/cairn/pkg/controller/internal/runnerrbac"
	"github.com/cairnbackup/cairn/pkg/controller/internal/secretcache"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
	"github.com/cairnbackup/cairn/pkg/controller/internal/workloop"
)

// Kind names this controller's queue and metrics.
const Kind = "repository"

// Indexes on Repositories, so a change of a storage or a Secret wakes the
// Repositories that use it.
const (
	byStorage = "storage" // "<ns>/<name>" of the BackupStorage
	bySecret  = "secret"  // "<ns>/<name>" of the password Secret
)

// checkTimeout bounds one check of a repository's directory.
const checkTimeout = 30 * time.Second

// recheckReady is how often a Ready repository's record is read again.
const recheckReady = 10 * time.Minute

// Controller reconciles Repositories.
type Controller struct {
	loop         *workloop.Loop
	kube         kubernetes.Interface
	cairn        cairnclient.Interface
	recorder     record.EventRecorder
	repositories listers.RepositoryLister
	repoIndex    cache.Indexer
	snapIndex    cache.Indexer
	storages     listers.BackupStorageLister
	namespaces   corelisters.NamespaceLister
	cluster      *storageops.ClusterID
	backoff      storageops.Backoff
	open         storageops.Opener
	local        storageops.LocalJobs
	jobs         batchlisters.JobLister
	rbac         *runnerrbac.Manager
	leases       *maintlease.Leases // one maintenance Job per repository
	image        string
	secrets      *secretcache.Reader
	now          func() time.Time
}

// New registers the controller's informers and handlers.
func New(d controller.Deps) (*Controller, error) {
	repoInf := d.Informers.Cairn.Storage().V1alpha1().Repositories()
	bsInf := d.Informers.Cairn.Storage().V1alpha1().BackupStorages()
	nsInf := d.Informers.Kube.Core().V1().Namespaces()
	jobInf := d.Informers.Managed.Batch().V1().Jobs()
	c := &Controller{
		kube: d.Kube, cairn: d.Cairn, recorder: d.Recorder, secrets: secretcache.New(d),
		repositories: repoInf.Lister(), repoIndex: repoInf.Informer().GetIndexer(),
		storages: bsInf.Lister(), namespaces: nsInf.Lister(),
		cluster: storageops.NewClusterID(d.Kube), now: time.Now,
	}
	c.local = storageops.LocalJobs{Kube: d.Kube, Jobs: jobInf.Lister(), Image: d.RunnerImage}
	c.jobs, c.rbac, c.image = jobInf.Lister(), runnerrbac.New(d), d.RunnerImage
	c.leases = maintlease.New(d.Kube, d.OperatorNamespace)
	c.open = storageops.BucketOpener(c.secrets)
	c.loop = workloop.New(Kind, c.sync, d.Metrics)
	if err := repoInf.Informer().AddIndexers(cache.Indexers{byStorage: indexStorage, bySecret: indexSecret}); err != nil {
		return nil, fmt.Errorf("%s: adding indexes: %w", Kind, err)
	}
	if _, err := repoInf.Informer().AddEventHandler(c.loop.Handlers()); err != nil {
		return nil, err
	}
	// Snapshots give status.snapshotCount, size, recentSnapshots and the
	// backup times.
	snapInf := d.Informers.Cairn.Storage().V1alpha1().Snapshots()
	if err := snapInf.Informer().AddIndexers(cache.Indexers{byRepository: indexSnapshotRepository}); err != nil {
		return nil, fmt.Errorf("%s: adding index: %w", Kind, err)
	}
	c.snapIndex = snapInf.Informer().GetIndexer()
	if _, err := snapInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.snapshotAdded, UpdateFunc: c.snapshotChanged, DeleteFunc: c.wakeSnapshotRepository}); err != nil {
		return nil, err
	}
	if _, err := bsInf.Informer().AddEventHandler(storageops.StorageHandlers(c.wake(byStorage))); err != nil {
		return nil, err
	}
	// The Jobs on local storages wake the Repository they work for.
	if _, err := jobInf.Informer().AddEventHandler(workloop.HandlersFunc(c.jobChanged)); err != nil {
		return nil, err
	}
	secrets := d.Informers.Metadata.ForResource(corev1.SchemeGroupVersion.WithResource("secrets"))
	if _, err := secrets.Informer().AddEventHandler(workloop.HandlersFunc(c.wake(bySecret))); err != nil {
		return nil, err
	}
	_ = nsInf.Informer()
	return c, nil
}

// Run processes the queue until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) { c.loop.Run(ctx, workers) }

// secret reads a Secret when a sync needs it (one GET per change of it).
func (c *Controller) secret(ctx context.Context, ns, name string) (*corev1.Secret, error) {
	return c.secrets.Get(ctx, ns, name)
}

func repository(obj any) (*storagev1.Repository, error) {
	r, ok := obj.(*storagev1.Repository)
	if !ok {
		return nil, fmt.Errorf("indexing: expected a Repository, got %T", obj)
	}
	return r, nil
}

func indexStorage(obj any) ([]string, error) {
	r, err := repository(obj)
	if err != nil {
		return nil, err
	}
	ref := r.Spec.StorageRef.WithNamespace(r.Namespace)
	return []string{ref.Namespace + "/" + ref.Name}, nil
}

func indexSecret(obj any) ([]string, error) {
	r, err := repository(obj)
	if err != nil {
		return nil, err
	}
	ref := r.Spec.EncryptionSecret.WithNamespace(r.Namespace)
	return []string{ref.Namespace + "/" + ref.Name}, nil
}

// wake enqueues the Repositories whose index entry names the object.
func (c *Controller) wake(index string) func(obj any) {
	return func(obj any) {
		name, err := cache.DeletionHandlingObjectToName(obj)
		if err != nil {
			return
		}
		users, err := c.repoIndex.ByIndex(index, name.String())
		if err != nil {
			return
		}
		for _, u := range users {
			c.loop.Enqueue(u)
		}
	}
}
