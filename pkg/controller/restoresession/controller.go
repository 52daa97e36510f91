// Package restoresession runs RestoreSessions: it finds the Snapshot to
// restore (by name, or `latest`: the newest Succeeded Snapshot of the
// repository), checks that it holds the components asked for, gives the
// runner an identity that may read only that Snapshot, its Repository,
// storage and Secrets and write only this session's status, and runs one
// restore Job per component with the target's volumes mounted read-write
// (a StatefulSet's dump-pod-N into replica N). While it runs it holds the
// backups of its target (status.pausedBackups). It fails a restore within
// seconds of a cause its runner cannot report, as backups do.
package restoresession

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/record"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	addonlisters "github.com/cairnbackup/cairn/client/listers/addons/v1alpha1"
	corelisters1 "github.com/cairnbackup/cairn/client/listers/core/v1alpha1"
	storagelisters "github.com/cairnbackup/cairn/client/listers/storage/v1alpha1"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/controller/internal/hookrun"
	"github.com/cairnbackup/cairn/pkg/controller/internal/jobwatch"
	"github.com/cairnbackup/cairn/pkg/controller/internal/runnerrbac"
	"github.com/cairnbackup/cairn/pkg/controller/internal/targets"
	"github.com/cairnbackup/cairn/pkg/controller/internal/workloop"
	"github.com/cairnbackup/cairn/pkg/jobs"
)

// Kind names this controller's queue and metrics.
const Kind = "restoresession"

// Controller runs RestoreSessions.
type Controller struct {
	loop     *workloop.Loop
	kube     kubernetes.Interface
	cairn    cairnclient.Interface
	recorder record.EventRecorder
	image    string
	now      func() time.Time
	pending  time.Duration

	sessions     corelisters1.RestoreSessionLister
	configs      corelisters1.BackupConfigurationLister
	backups      corelisters1.BackupSessionLister
	repositories storagelisters.RepositoryLister
	storages     storagelisters.BackupStorageLister
	snapshots    storagelisters.SnapshotLister
	addons       addonlisters.AddonLister
	functions    addonlisters.FunctionLister
	jobs         batchlisters.JobLister
	pods         corelisters.PodLister
	claims       corelisters.PersistentVolumeClaimLister
	nodes        corelisters.NodeLister
	namespaces   corelisters.NamespaceLister
	targets      *targets.Resolver
	rbac         *runnerrbac.Manager
	hooks        *hookrun.Runner
}

// PendingTimeout is how long a restore pod may wait to be scheduled.
const PendingTimeout = 10 * time.Minute

// New registers the controller's informers and handlers.
func New(d controller.Deps) (*Controller, error) {
	cf, mf := d.Informers.Cairn, d.Informers.Managed
	c := &Controller{kube: d.Kube, cairn: d.Cairn, recorder: d.Recorder, image: d.RunnerImage, now: time.Now, pending: PendingTimeout,
		targets: targets.New(d), rbac: runnerrbac.New(d), hooks: hookrun.New(d, hookrun.PodExec(d))}
	c.loop = workloop.New(Kind, c.sync, d.Metrics)
	rsInf := cf.Core().V1alpha1().RestoreSessions()
	c.sessions = rsInf.Lister()
	_, _ = rsInf.Informer().AddEventHandler(c.loop.Handlers())
	c.configs = cf.Core().V1alpha1().BackupConfigurations().Lister()
	c.claims = d.Informers.Kube.Core().V1().PersistentVolumeClaims().Lister()
	c.namespaces = d.Informers.Kube.Core().V1().Namespaces().Lister()
	bsInf := cf.Core().V1alpha1().BackupSessions()
	c.backups = bsInf.Lister()
	_, _ = bsInf.Informer().AddEventHandler(workloop.HandlersFunc(c.onBackupSession))
	st := cf.Storage().V1alpha1()
	c.repositories, c.storages, c.snapshots = st.Repositories().Lister(), st.BackupStorages().Lister(), st.Snapshots().Lister()
	c.addons, c.functions = cf.Addons().V1alpha1().Addons().Lister(), cf.Addons().V1alpha1().Functions().Lister()
	c.jobs, c.pods = mf.Batch().V1().Jobs().Lister(), mf.Core().V1().Pods().Lister()
	wake := workloop.HandlersFunc(c.onLabelled)
	_, _ = mf.Batch().V1().Jobs().Informer().AddEventHandler(wake)
	_, _ = mf.Core().V1().Pods().Informer().AddEventHandler(wake)
	nodes := d.Informers.Kube.Core().V1().Nodes()
	if err := nodes.Informer().SetTransform(jobwatch.TrimNode); err != nil {
		return nil, fmt.Errorf("trimming cached Nodes: %w", err)
	}
	c.nodes = nodes.Lister()
	_, _ = nodes.Informer().AddEventHandler(workloop.HandlersFunc(c.onNode))
	return c, nil
}

// Run processes the queue until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) { c.loop.Run(ctx, workers) }

// onLabelled wakes the RestoreSession named by a Job's or pod's label.
func (c *Controller) onLabelled(obj any) {
	if name, ns := restoreLabel(obj); name != "" {
		c.loop.EnqueueName(ns, name)
	}
}

// onBackupSession wakes the restores waiting for a backup of a config they
// hold once that backup has finished.
func (c *Controller) onBackupSession(obj any) {
	bs, ok := obj.(*corev1alpha1.BackupSession)
	if !ok || !bs.Status.Phase.IsFinished() {
		return
	}
	all, _ := c.sessions.RestoreSessions(bs.Namespace).List(labels.Everything())
	for _, rs := range all {
		if rs.HoldsBackupsOf(bs.Namespace, bs.Spec.Invoker.Name) {
			c.loop.EnqueueName(rs.Namespace, rs.Name)
		}
	}
}

// onNode wakes the restores with pods on a node that was lost (deleted,
// or its kubelet stopped posting status): they fail at once instead of
// waiting on pods that can no longer end.
func (c *Controller) onNode(obj any) {
	for _, key := range jobwatch.OnLostNode(obj, c.pods, c.nodes, jobs.LabelRestoreSession) {
		c.loop.EnqueueName(key.Namespace, key.Name)
	}
}

func restoreLabel(obj any) (string, string) {
	m, err := workloop.MetaOf(obj)
	if err != nil {
		return "", ""
	}
	return m.GetLabels()[jobs.LabelRestoreSession], m.GetNamespace()
}
