package repository

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

func typesUID(s string) types.UID { return types.UID(s) }

func TestRecordsDirectoryThenMakesNoWrites(t *testing.T) {
	repo := newRepository("web", "r-1", "apps/web")
	repo.Finalizers = nil
	f := newFixture(t, readyStorage(), password(KeyResticPassword), repo)
	f.sync("apps", "web") // the finalizer first
	if !storageops.HasFinalizer(f.get("apps", "web")) {
		t.Fatal("no finalizer")
	}
	f.writes()
	if requeue := f.sync("apps", "web"); requeue != recheckReady {
		t.Fatalf("requeue %v", requeue)
	}
	got := f.get("apps", "web")
	f.expect(got, storagev1.RepositoryReady, storagev1.ConditionRepositoryInitialized, ReasonInitialized,
		"s3://b/p/apps/web?endpoint=http%3A%2F%2Fminio%3A9000&use_path_style=true")
	f.expect(got, storagev1.RepositoryReady, ConditionEncryptionSecretFound, ReasonSecretFound, "RESTIC_PASSWORD")
	m, err := blob.ReadRepositoryMetadata(f.ctx, f.b, "apps/web")
	if err != nil || m.Cluster != clusterUID || m.Repository != (blob.ObjectRef{Namespace: "apps", Name: "web", UID: "r-1"}) || m.Spec.AppRef.Name != "web" {
		t.Fatalf("repository.yaml %+v %v", m, err)
	}
	f.expectEvent(EventRecorded, "repository.yaml")
	f.writes()
	f.now = f.now.Add(time.Hour)
	f.sync("apps", "web")
	f.sync("apps", "web")
	if n := f.writes(); n != 0 {
		t.Fatalf("%d writes at steady state, want 0", n)
	}
	for _, c := range got.Status.Conditions {
		if strings.Contains(c.Message, "hunter2") {
			t.Fatal("a condition shows the password")
		}
	}
}

func TestDirectoryOwnership(t *testing.T) {
	owner := newRepository("first", "r-1", "apps/shared")
	second := newRepository("second", "r-2", "apps/shared")
	f := newFixture(t, readyStorage(), password(KeyPassword), owner, second)
	f.sync("apps", "first")
	f.sync("apps", "second")
	f.expect(f.get("apps", "second"), storagev1.RepositoryNotReady, storagev1.ConditionRepositoryInitialized, ReasonDirectoryOwned, "belongs to Repository apps/first (uid r-1)")

	// The owner is deleted (Delete keeps the data): the directory is free
	// to be continued by the other Repository.
	if err := f.repos.Delete(owner); err != nil {
		t.Fatal(err)
	}
	f.sync("apps", "second")
	f.expect(f.get("apps", "second"), storagev1.RepositoryReady, storagev1.ConditionRepositoryInitialized, ReasonAdopted, "recorded by Repository apps/first")
	f.expectEvent(EventAdopted, "apps/shared")
	if m, err := blob.ReadRepositoryMetadata(f.ctx, f.b, "apps/shared"); err != nil || m.Repository.UID != "r-2" {
		t.Fatalf("record after adoption: %+v %v", m, err)
	}
}

func TestAdoptsAnotherClustersDirectory(t *testing.T) {
	f := newFixture(t, readyStorage(), password(KeyPassword), newRepository("web", "r-new", "apps/web"))
	old := &blob.RepositoryMetadata{Cluster: "old-cluster", Repository: blob.ObjectRef{Namespace: "apps", Name: "web", UID: "r-old"}}
	if err := blob.CreateRepositoryMetadata(f.ctx, f.b, "apps/web", old); err != nil {
		t.Fatal(err)
	}
	f.sync("apps", "web")
	f.expect(f.get("apps", "web"), storagev1.RepositoryReady, storagev1.ConditionRepositoryInitialized, ReasonAdopted, "cluster old-cluster")
	m, err := blob.ReadRepositoryMetadata(f.ctx, f.b, "apps/web")
	if err != nil || m.Cluster != clusterUID || m.Repository.UID != "r-new" {
		t.Fatalf("record %+v %v", m, err)
	}
}

func TestStorageAndPasswordProblemsSayWhatToFix(t *testing.T) {
	notReady := readyStorage()
	notReady.Status.Phase = storagev1.BackupStorageNotReady
	private := readyStorage()
	private.Spec.UsagePolicy = nil
	cases := []struct {
		name                   string
		storage                *storagev1.BackupStorage
		pwKey                  string
		condType, reason, says string
	}{
		{"no storage", nil, KeyPassword, storagev1.ConditionStorageFound, ReasonStorageNotFound, "BackupStorage storage/s3 does not exist"},
		{"not allowed", private, KeyPassword, storagev1.ConditionStorageFound, ReasonStorageNotAllowed, "may not be used from namespace \"apps\""},
		{"not ready", notReady, KeyPassword, storagev1.ConditionRepositoryInitialized, ReasonStorageNotReady, "is not Ready"},
		{"no password key", readyStorage(), "PASSWORD", ConditionEncryptionSecretFound, ReasonKeyMissing, "has no key CAIRN_PASSWORD"},
		{"no password secret", readyStorage(), "", ConditionEncryptionSecretFound, ReasonSecretMissing, "Secret apps/pw does not exist"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			objs := []runtime.Object{newRepository("web", "r-1", "apps/web")}
			if c.storage != nil {
				objs = append(objs, c.storage)
			}
			if c.pwKey != "" {
				objs = append(objs, password(c.pwKey))
			}
			f := newFixture(t, objs...)
			f.sync("apps", "web")
			f.expect(f.get("apps", "web"), storagev1.RepositoryNotReady, c.condType, c.reason, c.says)
		})
	}
}

func TestDeletionPolicies(t *testing.T) {
	deleting := func(policy storagev1.RepositoryDeletionPolicy) *storagev1.Repository {
		r := newRepository("web", "r-1", "apps/web")
		r.Spec.DeletionPolicy = policy
		ts := metav1.NewTime(time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC))
		r.DeletionTimestamp = &ts
		return r
	}
	fill := func(f *fixture) {
		for _, k := range []string{"apps/web/repository.yaml", "apps/web/config", "apps/web/data/00/x", "apps/webber/config"} {
			if err := f.b.Put(f.ctx, k, []byte("x")); err != nil {
				t.Fatal(err)
			}
		}
	}
	count := func(f *fixture, prefix string) int {
		c := 0
		_ = f.b.List(f.ctx, prefix, func(backend.Object) error { c++; return nil })
		return c
	}
	released := func(f *fixture) bool { return !storageops.HasFinalizer(f.get("apps", "web")) }

	t.Run("Delete keeps the data", func(t *testing.T) {
		f := newFixture(t, readyStorage(), deleting(storagev1.RepositoryDeletionDelete))
		fill(f)
		f.sync("apps", "web")
		if !released(f) || count(f, "apps/web/") != 3 {
			t.Fatalf("released %v, %d objects left of 3", released(f), count(f, "apps/web/"))
		}
		f.expectEvent(EventDataKept, "kept")
	})
	t.Run("WipeOut removes the directory only", func(t *testing.T) {
		f := newFixture(t, readyStorage(), deleting(storagev1.RepositoryDeletionWipeOut))
		fill(f)
		f.sync("apps", "web")
		if !released(f) || count(f, "apps/web/") != 0 || count(f, "apps/webber/") != 1 {
			t.Fatalf("released %v, %d left in the directory, %d in its neighbour", released(f), count(f, "apps/web/"), count(f, "apps/webber/"))
		}
		f.expectEvent(EventWiped, "deleted 3 objects")
	})
	t.Run("WipeOut without its storage retries, then gives up", func(t *testing.T) {
		f := newFixture(t, deleting(storagev1.RepositoryDeletionWipeOut))
		f.now = time.Date(2030, 1, 2, 3, 1, 0, 0, time.UTC)
		if requeue := f.sync("apps", "web"); released(f) || requeue <= 0 {
			t.Fatalf("released %v, requeue %v", released(f), requeue)
		}
		f.expectEvent(EventWipeFailed, "BackupStorage does not exist")
		f.now = f.now.Add(storageops.GiveUpAfter)
		f.sync("apps", "web")
		if !released(f) {
			t.Fatal("finalizer kept after the give-up time: the namespace would wedge")
		}
		f.expectEvent(EventCleanupAbandoned, "directory apps/web of BackupStorage storage/s3")
	})
	t.Run("WipeOut without its storage in a namespace being deleted gives up at once", func(t *testing.T) {
		ts := metav1.NewTime(time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC))
		f := newFixture(t, deleting(storagev1.RepositoryDeletionWipeOut),
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "storage", DeletionTimestamp: &ts, Finalizers: []string{"kubernetes"}}})
		f.now = time.Date(2030, 1, 2, 3, 0, 5, 0, time.UTC)
		f.sync("apps", "web")
		if !released(f) {
			t.Fatal("finalizer kept: the BackupStorage cannot come back in a terminating namespace")
		}
		f.expectEvent(EventCleanupAbandoned, "namespace storage is being deleted, so BackupStorage storage/s3 cannot be created again")
	})
}

func TestStorageAndSecretEventsWakeTheirRepositories(t *testing.T) {
	f := newFixture(t, newRepository("web", "r-1", "apps/web"), newRepository("db", "r-2", "apps/db"))
	f.c.wake(byStorage)(readyStorage())
	f.c.wake(bySecret)(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "other"}})
	if n := f.c.loop.Queue.Len(); n != 2 {
		t.Fatalf("queue %d, want both Repositories of the storage", n)
	}
}

func TestOnlyStorageChangesThatMatterWakeRepositories(t *testing.T) {
	old := readyStorage()
	old.Generation = 1
	listed := old.DeepCopy()
	listed.Status.Repositories = []storagev1.RepositoryInfo{{Namespace: "apps", Name: "web", Path: "apps/web"}}
	if storageops.StorageMatters(old, listed) {
		t.Fatal("a new status.repositories woke the Repositories")
	}
	notReady := old.DeepCopy()
	notReady.Status.Phase = storagev1.BackupStorageNotReady
	respec := old.DeepCopy()
	respec.Generation = 2
	if !storageops.StorageMatters(old, notReady) || !storageops.StorageMatters(old, respec) {
		t.Fatal("a phase or spec change did not wake the Repositories")
	}
}
