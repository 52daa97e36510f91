package backupstorage

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	cairnfake "github.com/cairnbackup/cairn/client/clientset/versioned/fake"
	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops/storageopstest"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

const clusterUID = storageopstest.ClusterUID

// fixture is a controller over fake clientsets whose informer caches the
// test fills, and a real bucket in a temporary directory.
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
	fx := storageopstest.NewFixture(t, objs...)
	f := &fixture{t: t, ctx: fx.Ctx, kube: fx.Kube, cairn: fx.Cairn, recorder: fx.Recorder, dir: t.TempDir(), now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	fx.Deps.RunnerImage = "cairn:test"
	c, err := New(fx.Deps)
	if err != nil {
		t.Fatal(err)
	}
	c.now = func() time.Time { return f.now }
	f.c = c
	inf := fx.Deps.Informers
	f.storages = inf.Cairn.Storage().V1alpha1().BackupStorages().Informer().GetIndexer()
	f.repos = inf.Cairn.Storage().V1alpha1().Repositories().Informer().GetIndexer()
	f.jobIndex = inf.Managed.Batch().V1().Jobs().Informer().GetIndexer()
	fx.Refresh()
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
	n := storageopstest.Writes(f.cairn.Actions())
	f.cairn.ClearActions()
	return n
}

// events drains the recorder.
func (f *fixture) events() []string { return storageopstest.Events(f.recorder) }

func (f *fixture) expectEvent(reason, says string) {
	f.t.Helper()
	storageopstest.ExpectEvent(f.t, f.recorder, reason, says)
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
