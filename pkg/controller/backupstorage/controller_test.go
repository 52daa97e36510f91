package backupstorage

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

func TestInitializesThenMakesNoWrites(t *testing.T) {
	bs := s3Storage("")
	bs.Finalizers = nil
	f := newFixture(t, bs)
	f.useDir()
	// First the finalizer, so a WipeOut can never be skipped.
	f.sync("ns", "store")
	if got := f.get("ns", "store"); !storageops.HasFinalizer(got) {
		t.Fatalf("finalizers %v", got.Finalizers)
	}
	f.writes()
	requeue := f.sync("ns", "store")
	got := f.get("ns", "store")
	if got.Status.Phase != storagev1.BackupStorageReady || condition(got, storagev1.ConditionStorageInitialized).Reason != ReasonInitialized {
		t.Fatalf("status %+v", got.Status)
	}
	if c := condition(got, storagev1.ConditionStorageInitialized); c.ObservedGeneration != 1 || got.Status.ObservedGeneration != 1 {
		t.Fatalf("observedGeneration %d/%d", c.ObservedGeneration, got.Status.ObservedGeneration)
	}
	if requeue != recheckReady {
		t.Fatalf("requeue %v, want the periodic re-check %v", requeue, recheckReady)
	}
	data, err := os.ReadFile(filepath.Join(f.dir, blob.MetadataKey))
	if err != nil {
		t.Fatal(err)
	}
	m, err := blob.ParseStorageMetadata(data)
	if err != nil || m.Cluster != clusterUID || m.BackupStorage.UID != "bs-1" {
		t.Fatalf("metadata.yaml %+v %v", m, err)
	}
	f.expectEvent(EventInitialized, blob.MetadataKey)
	if n := f.writes(); n != 1 {
		t.Fatalf("%d writes to initialise, want 1 (the status)", n)
	}
	// Steady state: a re-check, a restart (new controller, same objects)
	// and a duplicate event write nothing and keep metadata.yaml as is.
	f.now = f.now.Add(time.Hour)
	f.sync("ns", "store")
	f.sync("ns", "store")
	if n := f.writes(); n != 0 {
		t.Fatalf("%d writes at steady state, want 0", n)
	}
	again, _ := os.ReadFile(filepath.Join(f.dir, blob.MetadataKey))
	if string(again) != string(data) {
		t.Fatal("metadata.yaml was rewritten")
	}
}

func TestFailuresSayWhatToFixAndSecretFixRechecks(t *testing.T) {
	bs := s3Storage("creds")
	bs.Spec.Storage.S3.Endpoint = unreachable
	f := newFixture(t, bs)
	check := func(condType, reason, says string) {
		t.Helper()
		requeue := f.sync("ns", "store")
		got := f.get("ns", "store")
		c := condition(got, condType)
		if got.Status.Phase != storagev1.BackupStorageNotReady || c.Reason != reason || !strings.Contains(c.Message, says) {
			t.Fatalf("phase %s, %s: %s %q; want %s saying %q", got.Status.Phase, condType, c.Reason, c.Message, reason, says)
		}
		if requeue <= 0 || requeue > 5*time.Minute {
			t.Fatalf("requeue %v: want a backoff re-check", requeue)
		}
	}
	check(storagev1.ConditionBackendSecretFound, ReasonSecretMissing, "Secret ns/creds does not exist")

	// The Secret appears without its second key: the metadata-only Secret
	// informer maps it to this storage at once.
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "creds"},
		Data: map[string][]byte{blob.KeyAWSAccessKeyID: []byte("AKIA-not-secret")}}
	if _, err := f.kube.CoreV1().Secrets("ns").Create(f.ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.c.secretChanged(&metav1.PartialObjectMetadata{ObjectMeta: secret.ObjectMeta})
	if n := f.c.loop.Queue.Len(); n != 1 {
		t.Fatalf("queue holds %d after the Secret changed, want the storage", n)
	}
	check(storagev1.ConditionBackendSecretFound, ReasonKeyMissing, "AWS_SECRET_ACCESS_KEY")

	secret.Data[blob.KeyAWSSecretAccessKey] = []byte("never-shown-0123456789")
	if _, err := f.kube.CoreV1().Secrets("ns").Update(f.ctx, secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	check(storagev1.ConditionStorageInitialized, ReasonEndpointUnreachable, "does not answer")
	got := f.get("ns", "store")
	if c := condition(got, storagev1.ConditionBackendSecretFound); c.Status != metav1.ConditionTrue {
		t.Fatalf("BackendSecretFound %+v", c)
	}
	for _, c := range got.Status.Conditions {
		if strings.Contains(c.Message, "never-shown") {
			t.Fatalf("condition %s shows the secret", c.Type)
		}
	}
	// Fixed (here: the bucket becomes reachable): Ready.
	f.useDir()
	f.sync("ns", "store")
	if got := f.get("ns", "store"); got.Status.Phase != storagev1.BackupStorageReady {
		t.Fatalf("after the fix: %+v", got.Status)
	}
}

func TestAdoptsAnotherClustersStorageAndRecreatesRepositories(t *testing.T) {
	bs := s3Storage("")
	f := newFixture(t, bs)
	f.useDir()
	b, err := backend.Open(f.ctx, "file://"+f.dir, backend.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	old := &blob.StorageMetadata{Cluster: "old-cluster", BackupStorage: blob.ObjectRef{Namespace: "x", Name: "y", UID: "old-bs"}}
	if err := blob.CreateStorageMetadata(f.ctx, b, old); err != nil {
		t.Fatal(err)
	}
	rec := &blob.RepositoryMetadata{Cluster: "old-cluster", Repository: blob.ObjectRef{Namespace: "apps", Name: "web", UID: "old-repo"},
		Spec: storagev1.RepositorySpec{Path: "apps/web", DeletionPolicy: storagev1.RepositoryDeletionWipeOut}}
	rec.Spec.AppRef.Kind, rec.Spec.AppRef.Name = "Deployment", "web"
	rec.Spec.EncryptionSecret.Name = "pw"
	if err := blob.CreateRepositoryMetadata(f.ctx, b, "apps/web", rec); err != nil {
		t.Fatal(err)
	}
	at := metav1.Unix(1700000000, 0)
	snapRec := &blob.SnapshotRecord{Cluster: "old-cluster", Namespace: "apps", Name: "web-daily-1700000000",
		Labels: map[string]string{"cairn.dev/repository": "web", "cairn.dev/session": "daily"},
		Spec:   storagev1.SnapshotSpec{Repository: "web", Session: "daily", BackupSession: "web-daily-1700000000"},
		Status: storagev1.SnapshotStatus{Phase: storagev1.SnapshotSucceeded, SnapshotTime: &at,
			Components: map[string]storagev1.Component{"dump": {Phase: storagev1.ComponentSucceeded, DataMoverSnapshotID: "abc"}}}}
	if err := blob.WriteSnapshotRecord(f.ctx, b, "apps/web", snapRec); err != nil {
		t.Fatal(err)
	}
	// Directories this cluster recorded: one of a live Repository, left to
	// it; one whose Repository is gone, recreated like another cluster's.
	live := &storagev1.Repository{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "live", UID: "l"},
		Spec: storagev1.RepositorySpec{Path: "apps/live", StorageRef: common.ObjectReference{Namespace: "other", Name: "store"}}}
	if err := f.repos.Add(live); err != nil {
		t.Fatal(err)
	}
	for _, r := range []blob.ObjectRef{{Namespace: "apps", Name: "live", UID: "l"}, {Namespace: "apps", Name: "gone", UID: "g"}} {
		mine := &blob.RepositoryMetadata{Cluster: clusterUID, Repository: r, Spec: storagev1.RepositorySpec{Path: "apps/" + r.Name}}
		if err := blob.CreateRepositoryMetadata(f.ctx, b, "apps/"+r.Name, mine); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		if err := b.Put(f.ctx, "apps/web/data/"+string(rune('a'+i)), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}

	f.sync("ns", "store")
	got := f.get("ns", "store")
	if c := condition(got, storagev1.ConditionStorageInitialized); got.Status.Phase != storagev1.BackupStorageReady || c.Reason != ReasonAdopted || !strings.Contains(c.Message, "old-cluster") {
		t.Fatalf("status %+v", got.Status)
	}
	if c := condition(got, ConditionRepositoriesImported); c.Status != metav1.ConditionTrue {
		t.Fatalf("import %+v", c)
	}
	repo, err := f.cairn.StorageV1alpha1().Repositories("apps").Get(f.ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("Repository not recreated: %v", err)
	}
	if repo.Spec.Path != "apps/web" || repo.Spec.StorageRef.Name != "store" || repo.Spec.StorageRef.Namespace != "ns" ||
		repo.Spec.DeletionPolicy != storagev1.RepositoryDeletionWipeOut || repo.Spec.AppRef.Name != "web" || repo.Annotations[AnnotationImportedFrom] != "old-cluster" {
		t.Fatalf("recreated %+v", repo)
	}
	snap, err := f.cairn.StorageV1alpha1().Snapshots("apps").Get(f.ctx, "web-daily-1700000000", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("Snapshot not recreated: %v", err)
	}
	if owner := metav1.GetControllerOf(snap); owner == nil || owner.UID != repo.UID || owner.Kind != "Repository" {
		t.Fatalf("recreated Snapshot's owner %+v, want Repository %s", owner, repo.UID)
	}
	if snap.Status.Phase != storagev1.SnapshotSucceeded || snap.Status.Components["dump"].DataMoverSnapshotID != "abc" ||
		snap.Labels["cairn.dev/session"] != "daily" || !storageops.HasFinalizer(snap) ||
		snap.Annotations[blob.RecordedAnnotation] != blob.SnapshotRecordOf(snap, "any").Digest() {
		t.Fatalf("recreated Snapshot %+v", snap)
	}
	if c := condition(got, ConditionRepositoriesImported); !strings.Contains(c.Message, "with the 1 Snapshots") {
		t.Fatalf("import condition %q does not count the Snapshot", c.Message)
	}
	if gone, err := f.cairn.StorageV1alpha1().Repositories("apps").Get(f.ctx, "gone", metav1.GetOptions{}); err != nil || gone.Spec.StorageRef.Name != "store" {
		t.Fatalf("this cluster's deleted Repository was not recreated: %v", err)
	}
	if _, err := f.cairn.StorageV1alpha1().Repositories("apps").Get(f.ctx, "live", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a live Repository's record was imported again (err %v)", err)
	}
	m, err := blob.ReadStorageMetadata(f.ctx, b)
	if err != nil || m.Cluster != "old-cluster" {
		t.Fatalf("metadata.yaml clobbered: %+v %v", m, err)
	}
	f.expectEvent(EventRepositoryRecreated, "apps/web")
	// Imported once: later checks neither list the storage again nor write.
	f.writes()
	f.sync("ns", "store")
	if n := f.writes(); n != 0 {
		t.Fatalf("%d writes after the import, want 0", n)
	}
}

func TestAdoptsAFormerBackupStorageOfThisCluster(t *testing.T) {
	f := newFixture(t, s3Storage(""))
	f.useDir()
	b, err := backend.Open(f.ctx, "file://"+f.dir, backend.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	former := &blob.StorageMetadata{Cluster: clusterUID, BackupStorage: blob.ObjectRef{Namespace: "old", Name: "store", UID: "deleted-bs"}}
	if err := blob.CreateStorageMetadata(f.ctx, b, former); err != nil {
		t.Fatal(err)
	}
	rec := &blob.RepositoryMetadata{Cluster: clusterUID, Repository: blob.ObjectRef{Namespace: "old", Name: "web", UID: "deleted-repo"},
		Spec: storagev1.RepositorySpec{Path: "web", StorageRef: common.ObjectReference{Namespace: "old", Name: "store"}}}
	if err := blob.CreateRepositoryMetadata(f.ctx, b, "web", rec); err != nil {
		t.Fatal(err)
	}
	f.sync("ns", "store")
	got := f.get("ns", "store")
	if c := condition(got, storagev1.ConditionStorageInitialized); c.Reason != ReasonAdopted || !strings.Contains(c.Message, "old/store") {
		t.Fatalf("StorageInitialized %+v, want Adopted naming the former BackupStorage", c)
	}
	if c := condition(got, ConditionRepositoriesImported); c.Status != metav1.ConditionTrue {
		t.Fatalf("RepositoriesImported %+v", c)
	}
	repo, err := f.cairn.StorageV1alpha1().Repositories("old").Get(f.ctx, "web", metav1.GetOptions{})
	if err != nil || repo.Spec.StorageRef != (common.ObjectReference{Namespace: "ns", Name: "store"}) || repo.Spec.Path != "web" {
		t.Fatalf("recreated %+v, %v; want it on the adopting storage", repo, err)
	}
}

func TestStatusConflictIsRetriedWithoutError(t *testing.T) {
	f := newFixture(t, s3Storage(""))
	f.useDir()
	f.failOn("update", "backupstorages", "status", apierrors.NewConflict(schema.GroupResource{Resource: "backupstorages"}, "store", nil))
	f.sync("ns", "store") // no error: the newer version comes through the informer
	if f.get("ns", "store").Status.Phase != "" {
		t.Fatal("status written despite the conflict")
	}
	f.cairn.ReactionChain = f.cairn.ReactionChain[1:]
	f.sync("ns", "store")
	if f.get("ns", "store").Status.Phase != storagev1.BackupStorageReady {
		t.Fatal("not Ready after the conflict cleared")
	}
}

func TestDeletionPolicies(t *testing.T) {
	deleting := func(policy storagev1.BackupStorageDeletionPolicy, secret string) *storagev1.BackupStorage {
		bs := s3Storage(secret)
		bs.Spec.DeletionPolicy = policy
		ts := metav1.NewTime(time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC))
		bs.DeletionTimestamp = &ts
		return bs
	}
	fill := func(f *fixture) {
		if err := os.MkdirAll(filepath.Join(f.dir, "apps/web"), 0o700); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{blob.MetadataKey, "apps/web/config", "apps/web/repository.yaml"} {
			if err := os.WriteFile(filepath.Join(f.dir, k), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	released := func(f *fixture) bool {
		got, err := f.cairn.StorageV1alpha1().BackupStorages("ns").Get(f.ctx, "store", metav1.GetOptions{})
		return err == nil && !storageops.HasFinalizer(got)
	}

	t.Run("Delete keeps the data", func(t *testing.T) {
		f := newFixture(t, deleting(storagev1.DeletionPolicyDelete, ""))
		f.useDir()
		fill(f)
		f.sync("ns", "store")
		if !released(f) {
			t.Fatal("finalizer kept")
		}
		if _, err := os.Stat(filepath.Join(f.dir, "apps/web/config")); err != nil {
			t.Fatalf("data removed: %v", err)
		}
		f.expectEvent(EventDataKept, "kept")
	})
	t.Run("WipeOut removes the data", func(t *testing.T) {
		f := newFixture(t, deleting(storagev1.DeletionPolicyWipeOut, ""))
		f.useDir()
		fill(f)
		f.sync("ns", "store")
		if !released(f) {
			t.Fatal("finalizer kept")
		}
		var left []string
		_ = filepath.Walk(f.dir, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				left = append(left, p)
			}
			return nil
		})
		if len(left) != 0 {
			t.Fatalf("left %v", left)
		}
		f.expectEvent(EventWiped, "deleted 3 objects")
	})
	t.Run("WipeOut without its Secret retries, then gives up", func(t *testing.T) {
		f := newFixture(t, deleting(storagev1.DeletionPolicyWipeOut, "creds"))
		f.now = time.Date(2030, 1, 2, 3, 5, 0, 0, time.UTC) // 5 minutes after the deletion
		requeue := f.sync("ns", "store")
		if released(f) || requeue <= 0 {
			t.Fatalf("released %v, requeue %v: want a retry within the give-up time", released(f), requeue)
		}
		f.expectEvent(EventWipeFailed, "Secret ns/creds does not exist")
		f.now = f.now.Add(storageops.GiveUpAfter)
		f.sync("ns", "store")
		if !released(f) {
			t.Fatal("finalizer kept after the give-up time: the namespace would wedge")
		}
		f.expectEvent(EventCleanupAbandoned, "s3://bucket/p")
	})
	t.Run("WipeOut without its Secret in a namespace being deleted gives up at once", func(t *testing.T) {
		ts := metav1.NewTime(time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC))
		f := newFixture(t, deleting(storagev1.DeletionPolicyWipeOut, "creds"),
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns", DeletionTimestamp: &ts, Finalizers: []string{"kubernetes"}}})
		f.now = time.Date(2030, 1, 2, 3, 0, 5, 0, time.UTC)
		f.sync("ns", "store")
		if !released(f) {
			t.Fatal("finalizer kept: the Secret cannot come back in a terminating namespace")
		}
		f.expectEvent(EventCleanupAbandoned, "namespace ns is being deleted, so Secret ns/creds cannot be created again")
	})
}

func TestSecretIndexMapsToStorages(t *testing.T) {
	f := newFixture(t, s3Storage("creds"))
	f.c.secretChanged(cache.DeletedFinalStateUnknown{Key: "ns/creds", Obj: &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "creds"}}})
	f.c.secretChanged(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "unrelated"}})
	if n := f.c.loop.Queue.Len(); n != 1 {
		t.Fatalf("queue %d, want 1", n)
	}
}

// unreachable is an http endpoint nothing listens on (port 1 is
// reserved and closed on test machines).
const unreachable = "http://127.0.0.1:1"

func TestStatusListsTheRepositoriesOfTheStorage(t *testing.T) {
	repo := func(ns, name, storageNS string) *storagev1.Repository {
		return &storagev1.Repository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: storagev1.RepositorySpec{Path: ns + "/" + name, StorageRef: common.ObjectReference{Namespace: storageNS, Name: "store"}}}
	}
	f := newFixture(t, s3Storage(""), repo("b", "web", "ns"), repo("a", "db", "ns"), repo("ns", "app", ""), repo("c", "elsewhere", "other"))
	f.useDir()
	f.sync("ns", "store")
	want := []storagev1.RepositoryInfo{{Namespace: "a", Name: "db", Path: "a/db"}, {Namespace: "b", Name: "web", Path: "b/web"}, {Namespace: "ns", Name: "app", Path: "ns/app"}}
	if got := f.get("ns", "store").Status.Repositories; !reflect.DeepEqual(got, want) {
		t.Fatalf("status.repositories %+v, want %+v", got, want)
	}
	f.writes()
	f.sync("ns", "store")
	if n := f.writes(); n != 0 {
		t.Fatalf("%d writes with the same Repositories, want 0", n)
	}
	// A Repository that goes wakes its storage, whose list shrinks.
	gone := repo("b", "web", "ns")
	if err := f.repos.Delete(gone); err != nil {
		t.Fatal(err)
	}
	f.c.repositoryChanged(cache.DeletedFinalStateUnknown{Key: "b/web", Obj: gone})
	if n := f.c.loop.Queue.Len(); n != 1 {
		t.Fatalf("queue %d after a Repository went, want its storage", n)
	}
	f.sync("ns", "store")
	if got := f.get("ns", "store").Status.Repositories; len(got) != 2 || got[1].Name != "app" {
		t.Fatalf("after the delete: %+v", got)
	}
}
