package backupconfiguration

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
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
	addonsv1alpha1 "github.com/cairnbackup/cairn/pkg/apis/addons/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller"
)

// fixture is a controller on fake clientsets whose listers are fed by hand
// (refresh copies what the fake API server holds into the indexers), so each
// test drives sync step by step and inspects the API actions it caused.
type fixture struct {
	t        *testing.T
	ctx      context.Context
	kube     *kubefake.Clientset
	cairn    *cairnfake.Clientset
	cf       cairninformers.SharedInformerFactory
	kf, mf   informers.SharedInformerFactory
	c        *Controller
	recorder *record.FakeRecorder
	now      time.Time
}

func newFixture(t *testing.T, kubeObjs, cairnObjs []runtime.Object) *fixture {
	_, ctx := ktesting.NewTestContext(t)
	f := &fixture{t: t, ctx: ctx, now: time.Date(2026, 12, 3, 10, 30, 0, 0, time.UTC)}
	f.kube = kubefake.NewSimpleClientset(kubeObjs...)
	f.cairn = cairnfake.NewSimpleClientset(cairnObjs...)
	f.cf = cairninformers.NewSharedInformerFactory(f.cairn, 0)
	f.kf = informers.NewSharedInformerFactory(f.kube, 0)
	f.mf = informers.NewSharedInformerFactory(f.kube, 0)
	f.recorder = record.NewFakeRecorder(100)
	c, err := New(controller.Deps{
		Kube: f.kube, Cairn: f.cairn, Recorder: f.recorder, RunnerImage: "cairn.local/cairn:test",
		Informers: controller.Informers{Cairn: f.cf, Kube: f.kf, Managed: f.mf,
			Metadata: metadatainformer.NewSharedInformerFactory(metafake.NewSimpleMetadataClient(runtime.NewScheme()), 0)},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.now = func() time.Time { return f.now }
	f.c = c
	f.refresh()
	return f
}

// refresh replaces every indexer's content with what the fake clientsets hold.
func (f *fixture) refresh() {
	f.t.Helper()
	ctx := f.ctx
	set := func(inf cache.SharedIndexInformer, list runtime.Object, err error) {
		if err != nil {
			f.t.Fatal(err)
		}
		items, err := metaItems(list)
		if err != nil {
			f.t.Fatal(err)
		}
		if err := inf.GetIndexer().Replace(items, ""); err != nil {
			f.t.Fatal(err)
		}
	}
	lo := metav1.ListOptions{}
	st, co, ad := f.cf.Storage().V1alpha1(), f.cf.Core().V1alpha1(), f.cf.Addons().V1alpha1()
	l1, e1 := f.cairn.CoreV1alpha1().BackupConfigurations("").List(ctx, lo)
	set(co.BackupConfigurations().Informer(), l1, e1)
	l2, e2 := f.cairn.StorageV1alpha1().BackupStorages("").List(ctx, lo)
	set(st.BackupStorages().Informer(), l2, e2)
	l3, e3 := f.cairn.StorageV1alpha1().RetentionPolicies("").List(ctx, lo)
	set(st.RetentionPolicies().Informer(), l3, e3)
	l4, e4 := f.cairn.StorageV1alpha1().Repositories("").List(ctx, lo)
	set(st.Repositories().Informer(), l4, e4)
	l5, e5 := f.cairn.AddonsV1alpha1().Addons().List(ctx, lo)
	set(ad.Addons().Informer(), l5, e5)
	l6, e6 := f.cairn.AddonsV1alpha1().Functions().List(ctx, lo)
	set(ad.Functions().Informer(), l6, e6)
	k1, ke1 := f.kube.AppsV1().Deployments("").List(ctx, lo)
	set(f.kf.Apps().V1().Deployments().Informer(), k1, ke1)
	k2, ke2 := f.kube.CoreV1().PersistentVolumeClaims("").List(ctx, lo)
	set(f.kf.Core().V1().PersistentVolumeClaims().Informer(), k2, ke2)
	k3, ke3 := f.kube.CoreV1().Namespaces().List(ctx, lo)
	set(f.kf.Core().V1().Namespaces().Informer(), k3, ke3)
	k4, ke4 := f.kube.BatchV1().CronJobs("").List(ctx, lo)
	set(f.mf.Batch().V1().CronJobs().Informer(), k4, ke4)
	k5, ke5 := f.kube.CoreV1().ServiceAccounts("").List(ctx, lo)
	set(f.mf.Core().V1().ServiceAccounts().Informer(), k5, ke5)
	k6, ke6 := f.kube.RbacV1().Roles("").List(ctx, lo)
	set(f.mf.Rbac().V1().Roles().Informer(), k6, ke6)
	k7, ke7 := f.kube.RbacV1().RoleBindings("").List(ctx, lo)
	set(f.mf.Rbac().V1().RoleBindings().Informer(), k7, ke7)
}

func metaItems(list runtime.Object) ([]any, error) {
	objs, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(objs))
	for i := range objs {
		out[i] = objs[i]
	}
	return out, nil
}

// sync runs one sync of ns/name, clears the recorded actions first, and
// returns the write actions it made.
func (f *fixture) sync(ns, name string) (writes []clienttesting.Action, err error) {
	f.t.Helper()
	f.kube.ClearActions()
	f.cairn.ClearActions()
	_, err = f.c.sync(f.ctx, cache.ObjectName{Namespace: ns, Name: name})
	for _, a := range append(f.kube.Actions(), f.cairn.Actions()...) {
		if v := a.GetVerb(); v != "get" && v != "list" && v != "watch" {
			writes = append(writes, a)
		}
	}
	f.refresh()
	return writes, err
}

func (f *fixture) config(ns, name string) *corev1alpha1.BackupConfiguration {
	f.t.Helper()
	bc, err := f.cairn.CoreV1alpha1().BackupConfigurations(ns).Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return bc
}

// setRepositoryReady marks a Repository Ready, as its own controller would.
func (f *fixture) setRepositoryReady(ns, name string) {
	f.t.Helper()
	r, err := f.cairn.StorageV1alpha1().Repositories(ns).Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	r.Status.Phase = storagev1alpha1.RepositoryReady
	if _, err := f.cairn.StorageV1alpha1().Repositories(ns).UpdateStatus(f.ctx, r, metav1.UpdateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	f.refresh()
}

// Objects of a working setup in namespace "app": a Deployment, a Ready
// BackupStorage "s3" and a RetentionPolicy "keep" (both default), the
// workload addon with its Function, and a config "web" backing it up daily.

func ptr[T any](v T) *T { return &v }

func deployment() *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web"}}
}

func namespace(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

func storage(ns, name string, isDefault bool) *storagev1alpha1.BackupStorage {
	return &storagev1alpha1.BackupStorage{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: storagev1alpha1.BackupStorageSpec{Default: isDefault, Storage: storagev1alpha1.Backend{
			Provider: storagev1alpha1.ProviderS3, S3: &storagev1alpha1.S3Spec{Bucket: "b"}}},
		Status: storagev1alpha1.BackupStorageStatus{Phase: storagev1alpha1.BackupStorageReady},
	}
}

func policy(ns, name string, isDefault bool) *storagev1alpha1.RetentionPolicy {
	return &storagev1alpha1.RetentionPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       storagev1alpha1.RetentionPolicySpec{Default: isDefault, MaxRetentionPeriod: "30d"},
	}
}

func addon() *addonsv1alpha1.Addon {
	return &addonsv1alpha1.Addon{
		ObjectMeta: metav1.ObjectMeta{Name: "workload-addon"},
		Spec: addonsv1alpha1.AddonSpec{BackupTasks: []addonsv1alpha1.Task{{
			Name: "logical-backup", Function: "workload-backup",
			Parameters: []common.ParameterDefinition{{Name: "paths", Required: true}, {Name: "exclude"}},
		}}},
	}
}

func function() *addonsv1alpha1.Function {
	return &addonsv1alpha1.Function{ObjectMeta: metav1.ObjectMeta{Name: "workload-backup"}}
}

func backupConfig(backends bool) *corev1alpha1.BackupConfiguration {
	bc := &corev1alpha1.BackupConfiguration{
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web", UID: "uid-web", Generation: 1},
		Spec: corev1alpha1.BackupConfigurationSpec{
			Target: common.TypedObjectReference{APIGroup: "apps", Kind: "Deployment", Name: "web"},
			Sessions: []corev1alpha1.Session{{
				Name:      "daily",
				Scheduler: corev1alpha1.SchedulerSpec{Schedule: "0 2 * * *", TimeZone: ptr("UTC")},
				Addon: corev1alpha1.AddonInfo{Name: "workload-addon", Tasks: []corev1alpha1.TaskReference{
					{Name: "logical-backup", Params: map[string]string{"paths": "/data"}}}},
				Repositories: []corev1alpha1.RepositoryInfo{{Name: "web-repo", Directory: "app/web",
					EncryptionSecret: common.ObjectReference{Name: "pw"}}},
			}},
		},
	}
	if backends {
		bc.Spec.Backends = []corev1alpha1.BackendReference{{Name: "s3",
			StorageRef: common.ObjectReference{Name: "s3"}, RetentionPolicy: common.ObjectReference{Name: "keep"}}}
	}
	return bc
}

func workingSetup(bc *corev1alpha1.BackupConfiguration, extra ...runtime.Object) ([]runtime.Object, []runtime.Object) {
	return []runtime.Object{deployment(), namespace("app", nil)},
		append([]runtime.Object{bc, storage("app", "s3", true), policy("app", "keep", true), addon(), function()}, extra...)
}
