// Package snapshot keeps a record of every finished Snapshot next to its
// engine repository (<prefix>/<directory>/cairn-snapshots/<name>.yaml,
// pkg/blob), so a new cluster that adopts the storage recreates the
// Snapshot objects and restores from them. A recorded Snapshot carries a
// finalizer: when the Snapshot alone is deleted (retention dropped it, or
// a user did) its record goes too; when it goes because its Repository
// or its namespace is deleted, the record stays with the data, which that
// deletion keeps. Records are written for bucket storages; a local
// storage's volume is only reachable from a Job, and its Snapshots are not
// recorded.
package snapshot

import (
	"context"
	"fmt"
	"time"

	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/record"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	listers "github.com/cairnbackup/cairn/client/listers/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/controller/internal/secretcache"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
	"github.com/cairnbackup/cairn/pkg/controller/internal/workloop"
)

// Kind names this controller's queue and metrics.
const Kind = "snapshot"

// storeTimeout bounds one write or delete of a record.
const storeTimeout = 30 * time.Second

// Controller records finished Snapshots in their storage.
type Controller struct {
	loop         *workloop.Loop
	cairn        cairnclient.Interface
	recorder     record.EventRecorder
	snapshots    listers.SnapshotLister
	repositories listers.RepositoryLister
	storages     listers.BackupStorageLister
	namespaces   corelisters.NamespaceLister
	cluster      *storageops.ClusterID
	backoff      storageops.Backoff
	open         storageops.Opener
	now          func() time.Time
}

// New registers the controller's informers and handlers.
func New(d controller.Deps) (*Controller, error) {
	st := d.Informers.Cairn.Storage().V1alpha1()
	nsInf := d.Informers.Kube.Core().V1().Namespaces()
	c := &Controller{
		cairn: d.Cairn, recorder: d.Recorder,
		snapshots: st.Snapshots().Lister(), repositories: st.Repositories().Lister(), storages: st.BackupStorages().Lister(),
		namespaces: nsInf.Lister(), cluster: storageops.NewClusterID(d.Kube), now: time.Now,
	}
	secrets := secretcache.New(d)
	c.open = storageops.BucketOpener(secrets)
	c.loop = workloop.New(Kind, c.sync, d.Metrics)
	if _, err := st.Snapshots().Informer().AddEventHandler(c.loop.Handlers()); err != nil {
		return nil, fmt.Errorf("%s: %w", Kind, err)
	}
	// The Repository and BackupStorage listers answer where a record goes;
	// a Snapshot whose storage is not usable yet is retried with backoff.
	_, _ = st.Repositories().Informer(), st.BackupStorages().Informer()
	_ = nsInf.Informer()
	return c, nil
}

// Run processes the queue until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) { c.loop.Run(ctx, workers) }
