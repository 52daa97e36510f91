package repository

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
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	cairnfake "github.com/cairnbackup/cairn/client/clientset/versioned/fake"
	"github.com/cairnbackup/cairn/pkg/apis/common"
	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops/storageopstest"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

const clusterUID = storageopstest.ClusterUID

// fixture is a controller over fake clientsets whose informer caches the
// test fills, with a real bucket in a temporary directory.
type fixture struct {
	t        *testing.T
	ctx      context.Context
	c        *Controller
	kube     *kubefake.Clientset
	cairn    *cairnfake.Clientset
	recorder *record.FakeRecorder
	repos    cache.Indexer
	storages cache.Indexer
	jobIndex cache.Indexer
	managed  informers.SharedInformerFactory
	b        *backend.Backend
	now      time.Time
}

func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	fx := storageopstest.NewFixture(t, objs...)
	f := &fixture{t: t, ctx: fx.Ctx, kube: fx.Kube, cairn: fx.Cairn, recorder: fx.Recorder, now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	c, err := New(fx.Deps)
	if err != nil {
		t.Fatal(err)
	}
	f.c = c
	c.now = func() time.Time { return f.now }
	dir := t.TempDir()
	f.b, err = backend.Open(f.ctx, "file://"+dir, backend.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.b.Close() })
	c.open = func(ctx context.Context, _ *storagev1.BackupStorage) (*backend.Backend, error) {
		return backend.Open(ctx, "file://"+dir, backend.Options{})
	}
	inf := fx.Deps.Informers
	f.repos = inf.Cairn.Storage().V1alpha1().Repositories().Informer().GetIndexer()
	f.storages = inf.Cairn.Storage().V1alpha1().BackupStorages().Informer().GetIndexer()
	f.jobIndex = inf.Managed.Batch().V1().Jobs().Informer().GetIndexer()
	f.managed = inf.Managed
	fx.Refresh()
	return f
}

// sync runs one sync and feeds the written Repository back into the cache.
func (f *fixture) sync(ns, name string) time.Duration {
	f.t.Helper()
	res, err := f.c.sync(f.ctx, cache.ObjectName{Namespace: ns, Name: name})
	if err != nil {
		f.t.Fatalf("sync: %v", err)
	}
	if r, err := f.cairn.StorageV1alpha1().Repositories(ns).Get(f.ctx, name, metav1.GetOptions{}); err == nil {
		if err := f.repos.Update(r); err != nil {
			f.t.Fatal(err)
		}
	}
	return res.RequeueAfter
}

func (f *fixture) get(ns, name string) *storagev1.Repository {
	f.t.Helper()
	r, err := f.cairn.StorageV1alpha1().Repositories(ns).Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *fixture) writes() int {
	n := storageopstest.Writes(f.cairn.Actions())
	f.cairn.ClearActions()
	return n
}

func (f *fixture) expectEvent(reason, says string) {
	f.t.Helper()
	storageopstest.ExpectEvent(f.t, f.recorder, reason, says)
}

// expect checks the Repository's phase and one condition.
func (f *fixture) expect(r *storagev1.Repository, phase storagev1.RepositoryPhase, condType, reason, says string) {
	f.t.Helper()
	for _, c := range r.Status.Conditions {
		if c.Type == condType {
			if r.Status.Phase != phase || c.Reason != reason || !strings.Contains(c.Message, says) {
				f.t.Fatalf("phase %s, %s: %s %q; want %s, %s saying %q", r.Status.Phase, condType, c.Reason, c.Message, phase, reason, says)
			}
			return
		}
	}
	f.t.Fatalf("no condition %s in %+v", condType, r.Status.Conditions)
}

func readyStorage() *storagev1.BackupStorage {
	return &storagev1.BackupStorage{
		ObjectMeta: metav1.ObjectMeta{Namespace: "storage", Name: "s3"},
		Spec: storagev1.BackupStorageSpec{Storage: storagev1.Backend{Provider: storagev1.ProviderS3,
			S3: &storagev1.S3Spec{Endpoint: "http://minio:9000", Bucket: "b", Prefix: "p"}},
			UsagePolicy: &common.UsagePolicy{AllowedNamespaces: common.AllowedNamespaces{From: ptr(common.NamespacesFromAll)}}},
		Status: storagev1.BackupStorageStatus{Phase: storagev1.BackupStorageReady},
	}
}

func ptr[T any](v T) *T { return &v }

func password(key string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "pw"}, Data: map[string][]byte{key: []byte("hunter2")}}
}

func newRepository(name, uid, path string) *storagev1.Repository {
	r := &storagev1.Repository{
		ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: name, UID: typesUID(uid), Generation: 1, Finalizers: []string{storageops.Finalizer}},
		Spec: storagev1.RepositorySpec{
			StorageRef: common.ObjectReference{Namespace: "storage", Name: "s3"}, Path: path,
			EncryptionSecret: common.ObjectReference{Name: "pw"}, DeletionPolicy: storagev1.RepositoryDeletionDelete},
	}
	r.Spec.AppRef.Kind, r.Spec.AppRef.Name = "Deployment", "web"
	return r
}
