// Package controllertest is the fixture controller unit tests share: fake
// clientsets, the informer factories a controller is built on, and Refresh,
// which copies what the fake API server holds into the informers' indexers.
// Tests call a controller's sync directly, step by step, and look at the
// API actions it made (the sample-controller pattern, without timing).
package controllertest

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	metafake "k8s.io/client-go/metadata/fake"
	"k8s.io/client-go/metadata/metadatainformer"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2/ktesting"

	cairnfake "github.com/cairnbackup/cairn/client/clientset/versioned/fake"
	cairninformers "github.com/cairnbackup/cairn/client/informers/externalversions"
	"github.com/cairnbackup/cairn/pkg/controller"
)

// Fixture holds the fakes one controller test runs on.
type Fixture struct {
	T        testing.TB
	Ctx      context.Context
	Kube     *kubefake.Clientset
	Cairn    *cairnfake.Clientset
	Recorder *record.FakeRecorder
	Deps     controller.Deps
	// Now is the time controllers under test see (they take it as a func).
	Now time.Time
}

// New makes a fixture holding kubeObjs and cairnObjs. Build the controller
// from f.Deps, then call f.Refresh.
func New(t testing.TB, kubeObjs, cairnObjs []runtime.Object) *Fixture {
	_, ctx := ktesting.NewTestContext(t)
	f := &Fixture{T: t, Ctx: ctx, Now: time.Date(2026, 12, 3, 10, 30, 0, 0, time.UTC),
		Kube: kubefake.NewSimpleClientset(kubeObjs...), Cairn: cairnfake.NewSimpleClientset(cairnObjs...),
		Recorder: record.NewFakeRecorder(100)}
	f.Deps = controller.Deps{
		Kube: f.Kube, Cairn: f.Cairn, Recorder: f.Recorder, RunnerImage: "cairn.local/cairn:test",
		Informers: controller.Informers{
			Cairn:    cairninformers.NewSharedInformerFactory(f.Cairn, 0),
			Kube:     informers.NewSharedInformerFactory(f.Kube, 0),
			Managed:  informers.NewSharedInformerFactory(f.Kube, 0),
			Metadata: metadatainformer.NewSharedInformerFactory(metafake.NewSimpleMetadataClient(runtime.NewScheme()), 0),
		},
	}
	return f
}

// Refresh replaces every indexer's content with what the fake clientsets
// hold, as informers would after the watch caught up, trimmed by the
// transform the operator gives that informer factory (controller.TrimForCache,
// TrimReadOnly, TrimManaged): controllers are tested on what their caches
// hold in production.
func (f *Fixture) Refresh() {
	f.T.Helper()
	ctx, lo := f.Ctx, metav1.ListOptions{}
	inf := f.Deps.Informers
	st, co, ad := inf.Cairn.Storage().V1alpha1(), inf.Cairn.Core().V1alpha1(), inf.Cairn.Addons().V1alpha1()
	type source struct {
		informer cache.SharedIndexInformer
		list     func() (runtime.Object, error)
		trim     cache.TransformFunc
	}
	sources := []source{
		{co.BackupConfigurations().Informer(), func() (runtime.Object, error) { return f.Cairn.CoreV1alpha1().BackupConfigurations("").List(ctx, lo) }, controller.TrimForCache},
		{co.BackupSessions().Informer(), func() (runtime.Object, error) { return f.Cairn.CoreV1alpha1().BackupSessions("").List(ctx, lo) }, controller.TrimForCache},
		{co.RestoreSessions().Informer(), func() (runtime.Object, error) { return f.Cairn.CoreV1alpha1().RestoreSessions("").List(ctx, lo) }, controller.TrimForCache},
		{co.HookTemplates().Informer(), func() (runtime.Object, error) { return f.Cairn.CoreV1alpha1().HookTemplates("").List(ctx, lo) }, controller.TrimForCache},
		{st.BackupStorages().Informer(), func() (runtime.Object, error) { return f.Cairn.StorageV1alpha1().BackupStorages("").List(ctx, lo) }, controller.TrimForCache},
		{st.RetentionPolicies().Informer(), func() (runtime.Object, error) { return f.Cairn.StorageV1alpha1().RetentionPolicies("").List(ctx, lo) }, controller.TrimForCache},
		{st.Repositories().Informer(), func() (runtime.Object, error) { return f.Cairn.StorageV1alpha1().Repositories("").List(ctx, lo) }, controller.TrimForCache},
		{st.Snapshots().Informer(), func() (runtime.Object, error) { return f.Cairn.StorageV1alpha1().Snapshots("").List(ctx, lo) }, controller.TrimForCache},
		{ad.Addons().Informer(), func() (runtime.Object, error) { return f.Cairn.AddonsV1alpha1().Addons().List(ctx, lo) }, controller.TrimForCache},
		{ad.Functions().Informer(), func() (runtime.Object, error) { return f.Cairn.AddonsV1alpha1().Functions().List(ctx, lo) }, controller.TrimForCache},
		{inf.Kube.Apps().V1().Deployments().Informer(), func() (runtime.Object, error) { return f.Kube.AppsV1().Deployments("").List(ctx, lo) }, controller.TrimReadOnly},
		{inf.Kube.Apps().V1().StatefulSets().Informer(), func() (runtime.Object, error) { return f.Kube.AppsV1().StatefulSets("").List(ctx, lo) }, controller.TrimReadOnly},
		{inf.Kube.Apps().V1().DaemonSets().Informer(), func() (runtime.Object, error) { return f.Kube.AppsV1().DaemonSets("").List(ctx, lo) }, controller.TrimReadOnly},
		{inf.Kube.Core().V1().PersistentVolumeClaims().Informer(), func() (runtime.Object, error) { return f.Kube.CoreV1().PersistentVolumeClaims("").List(ctx, lo) }, controller.TrimReadOnly},
		{inf.Kube.Core().V1().Namespaces().Informer(), func() (runtime.Object, error) { return f.Kube.CoreV1().Namespaces().List(ctx, lo) }, controller.TrimReadOnly},
		{inf.Kube.Core().V1().Nodes().Informer(), func() (runtime.Object, error) { return f.Kube.CoreV1().Nodes().List(ctx, lo) }, controller.TrimReadOnly},
		{inf.Managed.Batch().V1().CronJobs().Informer(), func() (runtime.Object, error) { return f.Kube.BatchV1().CronJobs("").List(ctx, lo) }, controller.TrimManaged},
		{inf.Managed.Batch().V1().Jobs().Informer(), func() (runtime.Object, error) { return f.Kube.BatchV1().Jobs("").List(ctx, lo) }, controller.TrimManaged},
		{inf.Managed.Core().V1().Pods().Informer(), func() (runtime.Object, error) { return f.Kube.CoreV1().Pods("").List(ctx, lo) }, controller.TrimManaged},
		{inf.Managed.Core().V1().ServiceAccounts().Informer(), func() (runtime.Object, error) { return f.Kube.CoreV1().ServiceAccounts("").List(ctx, lo) }, controller.TrimManaged},
		{inf.Managed.Rbac().V1().Roles().Informer(), func() (runtime.Object, error) { return f.Kube.RbacV1().Roles("").List(ctx, lo) }, controller.TrimManaged},
		{inf.Managed.Rbac().V1().RoleBindings().Informer(), func() (runtime.Object, error) { return f.Kube.RbacV1().RoleBindings("").List(ctx, lo) }, controller.TrimManaged},
	}
	for _, s := range sources {
		list, err := s.list()
		if err != nil {
			f.T.Fatal(err)
		}
		objs, err := meta.ExtractList(list)
		if err != nil {
			f.T.Fatal(err)
		}
		items := make([]any, len(objs))
		for i := range objs {
			if items[i], err = s.trim(objs[i]); err != nil {
				f.T.Fatal(err)
			}
		}
		if err := s.informer.GetIndexer().Replace(items, ""); err != nil {
			f.T.Fatal(err)
		}
	}
}

// Sync clears the recorded actions, runs sync, refreshes the indexers and
// returns the write actions sync made.
func (f *Fixture) Sync(sync func() error) ([]clienttesting.Action, error) {
	f.T.Helper()
	f.Kube.ClearActions()
	f.Cairn.ClearActions()
	err := sync()
	var writes []clienttesting.Action
	for _, a := range append(f.Kube.Actions(), f.Cairn.Actions()...) {
		if v := a.GetVerb(); v != "get" && v != "list" && v != "watch" {
			writes = append(writes, a)
		}
	}
	f.Refresh()
	return writes, err
}
