// Package backupsession runs BackupSessions: for each repository of the
// session it creates a Snapshot object, a runner ServiceAccount that may
// touch only that session's objects, and one backup Job per component of the
// target; it follows the Jobs and their pods, fails the session within
// seconds of a cause that means the work cannot finish (a failed or deleted
// Job, an image that cannot be pulled, a pod that cannot be scheduled, a
// passed deadline), and derives the session's phase from its Snapshots. No
// session stays Running once its work cannot finish.
package backupsession

import (
	"context"
	"fmt"
	"time"

	snapclient "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	addonlisters "github.com/cairnbackup/cairn/client/listers/addons/v1alpha1"
	corelisters1 "github.com/cairnbackup/cairn/client/listers/core/v1alpha1"
	storagelisters "github.com/cairnbackup/cairn/client/listers/storage/v1alpha1"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/controller/internal/hookrun"
	"github.com/cairnbackup/cairn/pkg/controller/internal/jobwatch"
	"github.com/cairnbackup/cairn/pkg/controller/internal/maintlease"
	"github.com/cairnbackup/cairn/pkg/controller/internal/ownwrites"
	"github.com/cairnbackup/cairn/pkg/controller/internal/runnerrbac"
	"github.com/cairnbackup/cairn/pkg/controller/internal/targets"
	"github.com/cairnbackup/cairn/pkg/controller/internal/workloop"
	"github.com/cairnbackup/cairn/pkg/jobs"
)

// Kind names this controller's queue and metrics.
const Kind = "backupsession"

// PendingTimeout is how long a runner pod may wait to be scheduled before
// the session fails (the default; a flag may change it).
const PendingTimeout = 10 * time.Minute

// Controller runs BackupSessions.
type Controller struct {
	loop     *workloop.Loop
	kube     kubernetes.Interface
	cairn    cairnclient.Interface
	recorder record.EventRecorder
	image    string
	now      func() time.Time
	pending  time.Duration

	sessions     corelisters1.BackupSessionLister
	sessionIndex cache.Indexer
	configs      corelisters1.BackupConfigurationLister
	restores     corelisters1.RestoreSessionLister
	repositories storagelisters.RepositoryLister
	storages     storagelisters.BackupStorageLister
	snapshots    storagelisters.SnapshotLister
	policies     storagelisters.RetentionPolicyLister
	addons       addonlisters.AddonLister
	functions    addonlisters.FunctionLister
	targets      *targets.Resolver
	jobs         batchlisters.JobLister
	pods         corelisters.PodLister
	nodes        corelisters.NodeLister
	rbac         *runnerrbac.Manager
	hooks        *hookrun.Runner
	leases       *maintlease.Leases // one maintenance Job per repository
	// writes holds the sessions whose last status write the informer has
	// not delivered yet.
	writes *ownwrites.Tracker
	// gate lets a burst of starts create all their Jobs before the
	// writes that follow them (gate.go).
	gate *startGate
	// volumeSnapshots reads VolumeSnapshotClasses and deletes the
	// VolumeSnapshots retention drops; nil without an API connection.
	volumeSnapshots snapclient.Interface
}

// byConfigSession indexes sessions by "<ns>/<config>/<session>".
const byConfigSession = "configSession"

// New registers the controller's informers and handlers.
func New(d controller.Deps) (*Controller, error) {
	cf, mf := d.Informers.Cairn, d.Informers.Managed
	c := &Controller{kube: d.Kube, cairn: d.Cairn, recorder: d.Recorder, image: d.RunnerImage, now: time.Now, pending: PendingTimeout, writes: ownwrites.New(), gate: newStartGate()}
	c.loop = workloop.New(Kind, c.sync, d.Metrics)
	bsInf := cf.Core().V1alpha1().BackupSessions()
	if err := bsInf.Informer().AddIndexers(cache.Indexers{byConfigSession: func(obj any) ([]string, error) {
		bs, ok := obj.(*corev1alpha1.BackupSession)
		if !ok {
			return nil, nil
		}
		return []string{bs.Namespace + "/" + bs.Spec.Invoker.Name + "/" + bs.Spec.Session}, nil
	}}); err != nil {
		return nil, fmt.Errorf("adding BackupSession indexers: %w", err)
	}
	c.sessions, c.sessionIndex = bsInf.Lister(), bsInf.Informer().GetIndexer()
	_, _ = bsInf.Informer().AddEventHandler(workloop.HandlersFunc(c.onSession))
	c.configs = cf.Core().V1alpha1().BackupConfigurations().Lister()
	c.restores = cf.Core().V1alpha1().RestoreSessions().Lister()
	st := cf.Storage().V1alpha1()
	c.repositories, c.storages = st.Repositories().Lister(), st.BackupStorages().Lister()
	c.snapshots, c.policies = st.Snapshots().Lister(), st.RetentionPolicies().Lister()
	_, _ = st.Snapshots().Informer().AddEventHandler(workloop.HandlersFunc(c.onSnapshot))
	c.addons, c.functions = cf.Addons().V1alpha1().Addons().Lister(), cf.Addons().V1alpha1().Functions().Lister()
	c.targets = targets.New(d)
	c.jobs = mf.Batch().V1().Jobs().Lister()
	_, _ = mf.Batch().V1().Jobs().Informer().AddEventHandler(workloop.HandlersFunc(c.onLabelled))
	c.pods = mf.Core().V1().Pods().Lister()
	_, _ = mf.Core().V1().Pods().Informer().AddEventHandler(workloop.HandlersFunc(c.onLabelled))
	nodes := d.Informers.Kube.Core().V1().Nodes()
	if err := nodes.Informer().SetTransform(jobwatch.TrimNode); err != nil {
		return nil, fmt.Errorf("trimming cached Nodes: %w", err)
	}
	c.nodes = nodes.Lister()
	_, _ = nodes.Informer().AddEventHandler(workloop.HandlersFunc(c.onNode))
	c.rbac = runnerrbac.New(d)
	c.hooks = hookrun.New(d, hookrun.PodExec(d))
	c.leases = maintlease.New(d.Kube, d.OperatorNamespace)
	if d.RestConfig != nil {
		var err error
		if c.volumeSnapshots, err = snapclient.NewForConfig(d.RestConfig); err != nil {
			return nil, fmt.Errorf("creating the VolumeSnapshot client: %w", err)
		}
	}
	return c, nil
}

// MinWorkers is the fewest workers the BackupSession queue runs with,
// whatever --workers says for the other kinds: starting a session is a
// chain of API round trips (Snapshot, runner RBAC, Job, status), not CPU,
// and sessions come in bursts (every config on the same schedule). With
// eight workers the hundredth session of a burst waited for twelve others
// in front of it; with 32, starts that took 4-16 s on the loaded bench
// machine left sessions waiting up to a minute in the queue (make
// bench-sessions). A burst of a hundred now starts at once.
const MinWorkers = 100

// Run processes the queue until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) { c.loop.Run(ctx, max(workers, MinWorkers)) }

// onSession enqueues the session, and when one finishes, the other
// sessions of its config and session name (a Forbid schedule waits on it).
func (c *Controller) onSession(obj any) {
	c.loop.Enqueue(obj)
	if bs, ok := obj.(*corev1alpha1.BackupSession); ok && bs.Status.Phase.IsFinished() {
		others, _ := c.sessionIndex.ByIndex(byConfigSession, bs.Namespace+"/"+bs.Spec.Invoker.Name+"/"+bs.Spec.Session)
		for _, o := range others {
			if o.(*corev1alpha1.BackupSession).Name != bs.Name {
				c.loop.Enqueue(o)
			}
		}
	}
}

// onSnapshot wakes the session a Snapshot belongs to.
func (c *Controller) onSnapshot(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if snap, ok := obj.(*storagev1alpha1.Snapshot); ok && snap.Spec.BackupSession != "" {
		c.loop.EnqueueName(snap.Namespace, snap.Spec.BackupSession)
	}
}

// onLabelled wakes the session named by a Job's or pod's label.
func (c *Controller) onLabelled(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	if name := m.GetLabels()[jobs.LabelBackupSession]; name != "" {
		c.loop.EnqueueName(m.GetNamespace(), name)
	}
}
