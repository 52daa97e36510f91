package backupstorage

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	"k8s.io/client-go/metadata/metadatainformer"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2/ktesting"

	cairnfake "github.com/cairnbackup/cairn/client/clientset/versioned/fake"
	cairninformers "github.com/cairnbackup/cairn/client/informers/externalversions"
	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

const clusterUID = "cluster-1"

// fixture is a controller over fake clientsets whose informer caches the
// test fills by hand, and a real bucket in a temporary directory.
type fixture struct {
	t        *testing.T
	ctx      context.Context
	c        *Controller
	kube     *kubefake.Clientset
	cairn    *cairnfake.Clientset
	recorder *record.FakeRecorder
	storages cache.Indexer
	repos    cache.Indexer
	jobIndex cache.Indexer
	dir      string // the bucket
	now      time.Time
}

func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	_, ctx := ktesting.NewTestContext(t)
	f := &fixture{t: t, ctx: ctx, dir: t.TempDir(), recorder: record.NewFakeRecorder(100), now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	var kubeObjs, cairnObjs []runtime.Object
	kubeObjs = append(kubeObjs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: storageops.ClusterNamespace, UID: clusterUID}})
	for _, o := range objs {
		switch o.(type) {
		case *storagev1.BackupStorage, *storagev1.Repository:
			cairnObjs = append(cairnObjs, o)
		default:
			kubeObjs = append(kubeObjs, o)
		}
	}
	f.kube = kubefake.NewClientset(kubeObjs...)
	f.cairn = cairnfake.NewSimpleClientset(cairnObjs...)
	cf := cairninformers.NewSharedInformerFactory(f.cairn, 0)
	kf := informers.NewSharedInformerFactory(f.kube, 0)
	c, err := New(controller.Deps{
		Kube: f.kube, Cairn: f.cairn, Recorder: f.recorder, RunnerImage: "cairn:test",
		Informers: controller.Informers{Cairn: cf, Kube: kf, Managed: kf,
			Metadata: metadatainformer.NewSharedInformerFactory(metadatafake.NewSimpleMetadataClient(metadatafake.NewTestScheme()), 0)},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.now = func() time.Time { return f.now }
	f.c = c
	f.storages = cf.Storage().V1alpha1().BackupStorages().Informer().GetIndexer()
	f.repos = cf.Storage().V1alpha1().Repositories().Informer().GetIndexer()
	f.jobIndex = kf.Batch().V1().Jobs().Informer().GetIndexer()
	for _, o := range kubeObjs {
		if ns, ok := o.(*corev1.Namespace); ok {
			if err := kf.Core().V1().Namespaces().Informer().GetIndexer().Add(ns); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, o := range cairnObjs {
		idx := f.storages
		if _, ok := o.(*storagev1.Repository); ok {
			idx = f.repos
		}
		if err := idx.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// useDir makes the controller open the fixture's directory as the bucket.
func (f *fixture) useDir() {
	f.c.open = func(ctx context.Context, _ *storagev1.BackupStorage) (*backend.Backend, error) {
		return backend.Open(ctx, "file://"+f.dir, backend.Options{Create: true})
	}
}

// sync runs one sync of ns/name and feeds the objects it wrote back into
// the cache, as the informer would.
func (f *fixture) sync(ns, name string) time.Duration {
	f.t.Helper()
	res, err := f.c.sync(f.ctx, cache.ObjectName{Namespace: ns, Name: name})
	if err != nil {
		f.t.Fatalf("sync: %v", err)
	}
	f.refresh(ns, name)
	return res.RequeueAfter
}

// refresh copies the clientset's version of the storage into the cache.
func (f *fixture) refresh(ns, name string) {
	bs, err := f.cairn.StorageV1alpha1().BackupStorages(ns).Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		_ = f.storages.Delete(&storagev1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})
		return
	}
	if err := f.storages.Update(bs); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) get(ns, name string) *storagev1.BackupStorage {
	f.t.Helper()
	obj, ok, err := f.storages.GetByKey(ns + "/" + name)
	if err != nil || !ok {
		f.t.Fatalf("BackupStorage %s/%s: %v", ns, name, err)
	}
	return obj.(*storagev1.BackupStorage)
}

// writes counts the write actions the controller sent since the last call.
func (f *fixture) writes() int {
	n := 0
	for _, a := range f.cairn.Actions() {
		switch a.GetVerb() {
		case "create", "update", "patch", "delete":
			n++
		}
	}
	f.cairn.ClearActions()
	return n
}

// events drains the recorder.
func (f *fixture) events() []string {
	var out []string
	for {
		select {
		case e := <-f.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func (f *fixture) expectEvent(reason, says string) {
	f.t.Helper()
	evs := f.events()
	for _, e := range evs {
		if strings.Contains(e, reason) && strings.Contains(e, says) {
			return
		}
	}
	f.t.Fatalf("no event %s saying %q in %q", reason, says, evs)
}

// condition returns the storage's condition of type t.
func condition(bs *storagev1.BackupStorage, t string) metav1.Condition {
	for _, c := range bs.Status.Conditions {
		if c.Type == t {
			return c
		}
	}
	return metav1.Condition{}
}

// failOn makes the clientset answer verb on resource/subresource with err.
func (f *fixture) failOn(verb, resource, subresource string, err error) {
	f.cairn.PrependReactor(verb, resource, func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != subresource {
			return false, nil, nil
		}
		return true, nil, err
	})
}

func s3Storage(secret string) *storagev1.BackupStorage {
	return &storagev1.BackupStorage{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "store", UID: "bs-1", Generation: 1, Finalizers: []string{storageops.Finalizer}},
		Spec: storagev1.BackupStorageSpec{
			DeletionPolicy: storagev1.DeletionPolicyDelete,
			Storage: storagev1.Backend{Provider: storagev1.ProviderS3,
				S3: &storagev1.S3Spec{Endpoint: "http://127.0.0.1:1", Bucket: "bucket", Prefix: "p", SecretName: secret}}},
	}
}
