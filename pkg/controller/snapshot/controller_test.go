package snapshot

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/controller/internal/controllertest"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops/storageopstest"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

type fixture struct {
	*controllertest.Fixture
	c *Controller
	b *backend.Backend
}

func newFixture(t *testing.T, cairnObjs ...runtime.Object) *fixture {
	objs := append(cairnObjs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "apps"}})
	f := &fixture{Fixture: storageopstest.NewFixture(t, objs...)}
	c, err := New(f.Deps)
	if err != nil {
		t.Fatal(err)
	}
	f.c = c
	c.now = func() time.Time { return f.Now }
	dir := t.TempDir()
	if f.b, err = backend.Open(f.Ctx, "file://"+dir, backend.Options{Create: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.b.Close() })
	c.open = func(ctx context.Context, _ *storagev1.BackupStorage) (*backend.Backend, error) {
		return backend.Open(ctx, "file://"+dir, backend.Options{})
	}
	f.Refresh()
	return f
}

func (f *fixture) sync(name string) ([]string, time.Duration) {
	f.T.Helper()
	var res time.Duration
	writes, err := f.Sync(func() error {
		r, err := f.c.sync(f.Ctx, cache.ObjectName{Namespace: "apps", Name: name})
		res = r.RequeueAfter
		return err
	})
	if err != nil {
		f.T.Fatalf("sync: %v", err)
	}
	var verbs []string
	for _, w := range writes {
		verbs = append(verbs, w.GetVerb()+" "+w.GetResource().Resource)
	}
	return verbs, res
}

func (f *fixture) snapshot(name string) *storagev1.Snapshot {
	f.T.Helper()
	s, err := f.Cairn.StorageV1alpha1().Snapshots("apps").Get(f.Ctx, name, metav1.GetOptions{})
	if err != nil {
		f.T.Fatal(err)
	}
	return s
}

// markDeleted gives the object a deletionTimestamp, as a delete of an
// object with finalizers does.
func (f *fixture) markDeleted(s *storagev1.Snapshot) {
	f.T.Helper()
	now := metav1.NewTime(f.Now)
	s.DeletionTimestamp = &now
	if _, err := f.Cairn.StorageV1alpha1().Snapshots(s.Namespace).Update(f.Ctx, s, metav1.UpdateOptions{}); err != nil {
		f.T.Fatal(err)
	}
	f.Refresh()
}

func (f *fixture) records() []string {
	f.T.Helper()
	found, err := blob.FindSnapshots(f.Ctx, f.b, "apps/web")
	if err != nil {
		f.T.Fatal(err)
	}
	var names []string
	for _, s := range found {
		if s.Err != nil {
			f.T.Fatal(s.Err)
		}
		names = append(names, s.Record.Name)
	}
	return names
}

func storage() *storagev1.BackupStorage {
	return &storagev1.BackupStorage{
		ObjectMeta: metav1.ObjectMeta{Namespace: "storage", Name: "s3"},
		Spec: storagev1.BackupStorageSpec{Storage: storagev1.Backend{Provider: storagev1.ProviderS3,
			S3: &storagev1.S3Spec{Endpoint: "http://minio:9000", Bucket: "b", Prefix: "p"}}},
		Status: storagev1.BackupStorageStatus{Phase: storagev1.BackupStorageReady},
	}
}

func repository() *storagev1.Repository {
	return &storagev1.Repository{
		ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web", UID: "r-1"},
		Spec: storagev1.RepositorySpec{StorageRef: common.ObjectReference{Namespace: "storage", Name: "s3"}, Path: "/apps/web/",
			EncryptionSecret: common.ObjectReference{Name: "pw"}},
	}
}

var isController = true

func snapshot(name string, phase storagev1.SnapshotPhase) *storagev1.Snapshot {
	at := metav1.Unix(1700000000, 0)
	return &storagev1.Snapshot{
		ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: name, UID: types.UID("s-" + name),
			Labels:          map[string]string{"cairn.dev/repository": "web", "app.kubernetes.io/managed-by": "cairn"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: storagev1.SchemeGroupVersion.String(), Kind: "Repository", Name: "web", UID: "r-1", Controller: &isController}}},
		Spec:   storagev1.SnapshotSpec{Repository: "web", Session: "daily"},
		Status: storagev1.SnapshotStatus{Phase: phase, SnapshotTime: &at},
	}
}

// TestRecordsFinishedSnapshotsOnce: a running Snapshot is not recorded; a
// finished one is, once, and a steady state makes no write at all.
func TestRecordsFinishedSnapshotsOnce(t *testing.T) {
	f := newFixture(t, storage(), repository(), snapshot("web-daily-1", storagev1.SnapshotRunning))
	if writes, _ := f.sync("web-daily-1"); len(writes) != 0 || len(f.records()) != 0 {
		t.Fatalf("a running Snapshot: writes %v, records %v", writes, f.records())
	}
	s := f.snapshot("web-daily-1")
	s.Status.Phase = storagev1.SnapshotSucceeded
	if _, err := f.Cairn.StorageV1alpha1().Snapshots("apps").UpdateStatus(f.Ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.Refresh()
	if writes, _ := f.sync("web-daily-1"); !slices.Equal(writes, []string{"update snapshots"}) {
		t.Fatalf("writes %v, want one update", writes)
	}
	s = f.snapshot("web-daily-1")
	if !storageops.HasFinalizer(s) || s.Annotations[blob.RecordedAnnotation] == "" {
		t.Fatalf("not marked recorded: %+v", s.ObjectMeta)
	}
	found, _ := blob.FindSnapshots(f.Ctx, f.b, "apps/web")
	if len(found) != 1 || found[0].Record.Cluster != storageopstest.ClusterUID || found[0].Record.Status.Phase != storagev1.SnapshotSucceeded ||
		found[0].Record.Labels["cairn.dev/repository"] != "web" || found[0].Record.Labels["app.kubernetes.io/managed-by"] != "" {
		t.Fatalf("record %+v", found)
	}
	if found[0].Record.Digest() != s.Annotations[blob.RecordedAnnotation] {
		t.Fatal("the annotation is not the record's digest")
	}
	if writes, _ := f.sync("web-daily-1"); len(writes) != 0 {
		t.Fatalf("steady state writes %v", writes)
	}
	// A verdict added to the status later is recorded again.
	s.Status.Integrity = new(bool)
	if _, err := f.Cairn.StorageV1alpha1().Snapshots("apps").UpdateStatus(f.Ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.Refresh()
	f.sync("web-daily-1")
	if found, _ = blob.FindSnapshots(f.Ctx, f.b, "apps/web"); found[0].Record.Status.Integrity == nil {
		t.Fatal("the changed status was not recorded")
	}
}

// TestDroppedSnapshotLosesItsRecord: deleting a Snapshot alone (retention)
// deletes its record and releases it.
func TestDroppedSnapshotLosesItsRecord(t *testing.T) {
	f := newFixture(t, storage(), repository(), snapshot("web-daily-1", storagev1.SnapshotSucceeded), snapshot("web-daily-2", storagev1.SnapshotFailed))
	f.sync("web-daily-1")
	f.sync("web-daily-2")
	if got := f.records(); !slices.Equal(got, []string{"web-daily-1", "web-daily-2"}) {
		t.Fatalf("records %v", got)
	}
	f.markDeleted(f.snapshot("web-daily-1"))
	f.sync("web-daily-1")
	if got := f.records(); !slices.Equal(got, []string{"web-daily-2"}) {
		t.Fatalf("records after the drop %v", got)
	}
	if storageops.HasFinalizer(f.snapshot("web-daily-1")) {
		t.Fatal("finalizer kept")
	}
}

// TestRecordStaysWithTheData: a Snapshot deleted because its Repository
// or its namespace is deleted keeps its record.
func TestRecordStaysWithTheData(t *testing.T) {
	for name, gone := range map[string]func(f *fixture){
		"repository deleted": func(f *fixture) {
			if err := f.Cairn.StorageV1alpha1().Repositories("apps").Delete(f.Ctx, "web", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		},
		"repository being deleted": func(f *fixture) {
			r := repository()
			now := metav1.NewTime(f.Now)
			r.DeletionTimestamp, r.Finalizers = &now, []string{storageops.Finalizer}
			if _, err := f.Cairn.StorageV1alpha1().Repositories("apps").Update(f.Ctx, r, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		},
		"repository replaced": func(f *fixture) {
			r := repository()
			r.UID = "r-2"
			if _, err := f.Cairn.StorageV1alpha1().Repositories("apps").Update(f.Ctx, r, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		},
		"namespace deleted": func(f *fixture) {
			now := metav1.NewTime(f.Now)
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "apps", DeletionTimestamp: &now}}
			if _, err := f.Kube.CoreV1().Namespaces().Update(f.Ctx, ns, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, storage(), repository(), snapshot("web-daily-1", storagev1.SnapshotSucceeded))
			f.sync("web-daily-1")
			gone(f)
			f.markDeleted(f.snapshot("web-daily-1"))
			f.sync("web-daily-1")
			if got := f.records(); !slices.Equal(got, []string{"web-daily-1"}) {
				t.Fatalf("records %v", got)
			}
			if storageops.HasFinalizer(f.snapshot("web-daily-1")) {
				t.Fatal("finalizer kept")
			}
		})
	}
}

// TestStoreFailureIsRetried: a store that refuses is an Event and a
// retry with backoff, not a marked Snapshot.
func TestStoreFailureIsRetried(t *testing.T) {
	f := newFixture(t, storage(), repository(), snapshot("web-daily-1", storagev1.SnapshotSucceeded))
	f.c.open = func(ctx context.Context, _ *storagev1.BackupStorage) (*backend.Backend, error) {
		b, err := backend.Open(ctx, "file:///nonexistent/cairn-test", backend.Options{})
		return b, blob.Check(err, "opening the storage") // as blob.Open classifies
	}
	writes, requeue := f.sync("web-daily-1")
	if len(writes) != 0 || requeue <= 0 {
		t.Fatalf("writes %v, requeue %v", writes, requeue)
	}
	select {
	case e := <-f.Recorder.Events:
		if !strings.Contains(e, EventRecordFailed) {
			t.Fatalf("event %q", e)
		}
	default:
		t.Fatal("no event")
	}
}
