// Package backupconfiguration turns a BackupConfiguration into what makes
// its backups happen: it checks the target, the addon and its tasks, and the
// backends (choosing and pinning the default BackupStorage and
// RetentionPolicy when spec.backends is omitted), creates the Repositories
// (labelled with the config, never owned by it, so deleting a schedule never
// deletes backups), and one trigger CronJob per session with a
// ServiceAccount that may only create BackupSessions. Status reports the
// phase, per-session nextSchedule and conditions that say what to fix.
package backupconfiguration

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	addonlisters "github.com/cairnbackup/cairn/client/listers/addons/v1alpha1"
	cairnlisters "github.com/cairnbackup/cairn/client/listers/core/v1alpha1"
	storagelisters "github.com/cairnbackup/cairn/client/listers/storage/v1alpha1"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/controller/internal/ownwrites"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
	"github.com/cairnbackup/cairn/pkg/controller/internal/workloop"
	"github.com/cairnbackup/cairn/pkg/jobs"
)

// Kind names this controller's queue and metrics.
const Kind = "backupconfiguration"

// Indexes on BackupConfigurations, so a change to a referenced object wakes
// exactly the configs that use it.
const (
	byStorage    = "storage"    // "<ns>/<name>" of each BackupStorage used, or defaultKey
	byPolicy     = "policy"     // "<ns>/<name>" of each RetentionPolicy used, or defaultKey
	byTarget     = "target"     // "<Kind>/<ns>/<name>"
	byAddon      = "addon"      // addon name
	byRepository = "repository" // "<ns>/<name>" of each Repository
	byHook       = "hook"       // "<ns>/<name>" of each HookTemplate a hook uses
	defaultKey   = "<default>"  // configs that use the defaults
)

// Controller reconciles BackupConfigurations.
type Controller struct {
	loop     *workloop.Loop
	kube     kubernetes.Interface
	cairn    cairnclient.Interface
	recorder record.EventRecorder
	image    string
	now      func() time.Time

	configs      cache.Indexer
	configLister cairnlisters.BackupConfigurationLister
	storages     storagelisters.BackupStorageLister
	policies     storagelisters.RetentionPolicyLister
	repositories storagelisters.RepositoryLister
	snapshots    storagelisters.SnapshotLister
	addons       addonlisters.AddonLister
	functions    addonlisters.FunctionLister
	templates    cairnlisters.HookTemplateLister // hooks' HookTemplates (HooksReady)
	namespaces   corelisters.NamespaceLister
	pvcs         corelisters.PersistentVolumeClaimLister
	deployments  appslisters.DeploymentLister
	statefulsets appslisters.StatefulSetLister
	daemonsets   appslisters.DaemonSetLister
	cronjobs     batchlisters.CronJobLister
	accounts     corelisters.ServiceAccountLister
	roles        rbaclisters.RoleLister
	bindings     rbaclisters.RoleBindingLister
	// writes holds the configs whose last status write the informer has
	// not delivered yet: a Snapshot that ends wakes its config, and a
	// second wake before the informer caught up would write the same
	// status again from the older copy (a conflict).
	writes *ownwrites.Tracker
}

// New registers the controller's informers and handlers.
func New(d controller.Deps) (*Controller, error) {
	cf, kf, mf := d.Informers.Cairn, d.Informers.Kube, d.Informers.Managed
	c := &Controller{kube: d.Kube, cairn: d.Cairn, recorder: d.Recorder, image: d.RunnerImage, now: time.Now, writes: ownwrites.New()}
	c.loop = workloop.New(Kind, c.sync, d.Metrics)

	bcInf := cf.Core().V1alpha1().BackupConfigurations()
	if err := bcInf.Informer().AddIndexers(cache.Indexers{
		byStorage: indexStorages, byPolicy: indexPolicies, byTarget: indexTarget, byAddon: indexAddon, byRepository: indexRepositories,
		byHook: indexHookTemplates,
	}); err != nil {
		return nil, fmt.Errorf("adding BackupConfiguration indexers: %w", err)
	}
	c.configs, c.configLister = bcInf.Informer().GetIndexer(), bcInf.Lister()
	add := func(inf cache.SharedIndexInformer, h cache.ResourceEventHandler) {
		_, _ = inf.AddEventHandler(h)
	}
	add(bcInf.Informer(), c.loop.Handlers())

	st := cf.Storage().V1alpha1()
	c.storages, c.policies, c.repositories = st.BackupStorages().Lister(), st.RetentionPolicies().Lister(), st.Repositories().Lister()
	// Not on status.repositories: each new Repository rewrites it.
	add(st.BackupStorages().Informer(), storageops.StorageHandlers(c.wakeUsers(byStorage, true)))
	add(st.RetentionPolicies().Informer(), workloop.HandlersFunc(c.wakeUsers(byPolicy, true)))
	add(st.Repositories().Informer(), workloop.HandlersFunc(c.wakeUsers(byRepository, false)))
	c.snapshots = st.Snapshots().Lister() // per-session lastSuccessfulBackupTime
	add(st.Snapshots().Informer(), cache.ResourceEventHandlerFuncs{AddFunc: c.wakeSnapshotConfig, UpdateFunc: c.snapshotChanged, DeleteFunc: c.wakeSnapshotConfig})

	ad := cf.Addons().V1alpha1()
	c.addons, c.functions = ad.Addons().Lister(), ad.Functions().Lister()
	add(ad.Addons().Informer(), workloop.HandlersFunc(c.wakeAddonUsers))
	add(ad.Functions().Informer(), workloop.HandlersFunc(c.wakeAll))

	hooks := cf.Core().V1alpha1().HookTemplates()
	c.templates = hooks.Lister()
	add(hooks.Informer(), workloop.HandlersFunc(c.wakeUsers(byHook, false)))

	c.namespaces = kf.Core().V1().Namespaces().Lister()
	add(kf.Core().V1().Namespaces().Informer(), workloop.HandlersFunc(c.wakeNamespace))
	c.pvcs = kf.Core().V1().PersistentVolumeClaims().Lister()
	add(kf.Core().V1().PersistentVolumeClaims().Informer(), workloop.HandlersFunc(c.wakeTarget("PersistentVolumeClaim")))
	c.deployments = kf.Apps().V1().Deployments().Lister()
	add(kf.Apps().V1().Deployments().Informer(), workloop.HandlersFunc(c.wakeTarget("Deployment")))
	c.statefulsets = kf.Apps().V1().StatefulSets().Lister()
	add(kf.Apps().V1().StatefulSets().Informer(), workloop.HandlersFunc(c.wakeTarget("StatefulSet")))
	c.daemonsets = kf.Apps().V1().DaemonSets().Lister()
	add(kf.Apps().V1().DaemonSets().Informer(), workloop.HandlersFunc(c.wakeTarget("DaemonSet")))

	c.cronjobs = mf.Batch().V1().CronJobs().Lister()
	add(mf.Batch().V1().CronJobs().Informer(), workloop.HandlersFunc(c.wakeOwner))
	c.accounts = mf.Core().V1().ServiceAccounts().Lister()
	add(mf.Core().V1().ServiceAccounts().Informer(), workloop.HandlersFunc(c.wakeTriggerRBACUsers))
	c.roles = mf.Rbac().V1().Roles().Lister()
	add(mf.Rbac().V1().Roles().Informer(), workloop.HandlersFunc(c.wakeTriggerRBACUsers))
	c.bindings = mf.Rbac().V1().RoleBindings().Lister()
	add(mf.Rbac().V1().RoleBindings().Informer(), workloop.HandlersFunc(c.wakeTriggerRBACUsers))
	return c, nil
}

// Run processes the queue until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) { c.loop.Run(ctx, workers) }

// wakeUsers enqueues the configs whose index holds the object's
// "<ns>/<name>"; withDefaults also wakes the configs that use the defaults
// (a default BackupStorage or RetentionPolicy may have appeared or gone).
func (c *Controller) wakeUsers(index string, withDefaults bool) func(obj any) {
	return func(obj any) {
		name, err := cache.DeletionHandlingObjectToName(obj)
		if err != nil {
			return
		}
		c.enqueueIndexed(index, name.String())
		if withDefaults {
			c.enqueueIndexed(index, defaultKey)
		}
	}
}

func (c *Controller) enqueueIndexed(index, key string) {
	objs, _ := c.configs.ByIndex(index, key)
	for _, o := range objs {
		c.loop.Enqueue(o)
	}
}

func (c *Controller) wakeAddonUsers(obj any) {
	if m, err := metaOf(obj); err == nil {
		c.enqueueIndexed(byAddon, m.GetName())
	}
}

// wakeAll enqueues every config (Functions are few and change rarely).
func (c *Controller) wakeAll(any) {
	for _, o := range c.configs.List() {
		c.loop.Enqueue(o)
	}
}

// wakeNamespace re-checks the configs of a namespace whose labels may now
// match (or no longer match) a usage policy's selector.
func (c *Controller) wakeNamespace(obj any) {
	if m, err := metaOf(obj); err == nil {
		objs, _ := c.configs.ByIndex(cache.NamespaceIndex, m.GetName())
		for _, o := range objs {
			c.loop.Enqueue(o)
		}
	}
}

func (c *Controller) wakeTarget(kind string) func(obj any) {
	return func(obj any) {
		if m, err := metaOf(obj); err == nil {
			c.enqueueIndexed(byTarget, kind+"/"+m.GetNamespace()+"/"+m.GetName())
		}
	}
}

// wakeTriggerRBACUsers re-checks one config of the namespace when its
// trigger ServiceAccount, Role or RoleBinding changed or went (one sync
// puts them back for all).
func (c *Controller) wakeTriggerRBACUsers(obj any) {
	m, err := metaOf(obj)
	if err != nil || m.GetName() != jobs.TriggerServiceAccount {
		return
	}
	if objs, _ := c.configs.ByIndex(cache.NamespaceIndex, m.GetNamespace()); len(objs) > 0 {
		c.loop.Enqueue(objs[0])
	}
}

// wakeOwner enqueues the BackupConfiguration that controls a CronJob.
func (c *Controller) wakeOwner(obj any) {
	m, err := metaOf(obj)
	if err != nil {
		return
	}
	if ref := metav1.GetControllerOf(m); ref != nil && ref.Kind == "BackupConfiguration" && ref.APIVersion == corev1alpha1.SchemeGroupVersion.String() {
		c.loop.EnqueueName(m.GetNamespace(), ref.Name)
	}
}

func metaOf(obj any) (metav1.Object, error) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("unexpected %T", obj)
	}
	return m, nil
}
