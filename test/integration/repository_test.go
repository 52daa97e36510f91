//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/test/operatortest"
)

// repository is a Repository in directory path of storage ns/storage, with
// the password Secret "password" of its own namespace.
func repository(name, storageNS, storage, path string, policy storagev1alpha1.RepositoryDeletionPolicy) *storagev1alpha1.Repository {
	return &storagev1alpha1.Repository{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: storagev1alpha1.RepositorySpec{
			AppRef:           common.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "data"},
			StorageRef:       common.ObjectReference{Namespace: storageNS, Name: storage},
			Path:             path,
			EncryptionSecret: common.ObjectReference{Name: "password"},
			DeletionPolicy:   policy,
		},
	}
}

func (e *storageEnv) createRepository(ctx context.Context, t *testing.T, ns string, r *storagev1alpha1.Repository) {
	t.Helper()
	if _, err := e.Cairn.StorageV1alpha1().Repositories(ns).Create(ctx, r, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Repository %s/%s: %v", ns, r.Name, err)
	}
}

// waitRepositoryReady waits until a Repository is Ready and returns it.
func (e *storageEnv) waitRepositoryReady(ctx context.Context, t *testing.T, ns, name string) *storagev1alpha1.Repository {
	t.Helper()
	r, err := operatortest.WaitCondition(ctx, e.Cairn.StorageV1alpha1().Repositories(ns).Get, name,
		storagev1alpha1.ConditionRepositoryInitialized, metav1.ConditionTrue, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status.Phase != storagev1alpha1.RepositoryReady {
		t.Fatalf("Repository %s/%s: phase %s, conditions %+v", ns, name, r.Status.Phase, r.Status.Conditions)
	}
	return r
}

// readyStorage creates BackupStorage "minio" in the env's namespace under
// prefix <namespace> and waits until it is Ready.
func (e *storageEnv) readyStorage(ctx context.Context, t *testing.T, policy storagev1alpha1.BackupStorageDeletionPolicy, usage *common.UsagePolicy) {
	t.Helper()
	bs := e.s3Storage("minio", storageBucket, e.ns, policy)
	bs.Spec.UsagePolicy = usage
	e.createStorage(ctx, t, e.ns, bs)
	e.waitStorage(ctx, t, e.ns, "minio", storagev1alpha1.ConditionStorageInitialized, metav1.ConditionTrue)
}

func fromNamespaces(f common.FromNamespaces) *common.UsagePolicy {
	return &common.UsagePolicy{AllowedNamespaces: common.AllowedNamespaces{From: &f}}
}

// TestRepositoryOwnsItsDirectory: a Repository writes
// <prefix>/<dir>/repository.yaml naming it; a second Repository claiming
// the same directory is refused with a message naming the owner.
func TestRepositoryOwnsItsDirectory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := newStorageEnv(ctx, t)
	e.readyStorage(ctx, t, storagev1alpha1.DeletionPolicyDelete, nil)
	e.createRepository(ctx, t, e.ns, repository("first", "", "minio", "apps/web", storagev1alpha1.RepositoryDeletionDelete))
	first := e.waitRepositoryReady(ctx, t, e.ns, "first")
	m, err := blob.ParseRepositoryMetadata(e.read(ctx, t, e.ns+"/apps/web/"+blob.RepositoryFile))
	if err != nil {
		t.Fatal(err)
	}
	if m.Repository.UID != first.UID || m.Repository.Namespace != e.ns || m.Repository.Name != "first" || m.Spec.Path != "apps/web" {
		t.Fatalf("repository.yaml %+v does not name Repository %s/first (%s)", m, e.ns, first.UID)
	}

	e.createRepository(ctx, t, e.ns, repository("second", "", "minio", "/apps/web/", storagev1alpha1.RepositoryDeletionDelete))
	c := waitReason(ctx, t, e.Cairn.StorageV1alpha1().Repositories(e.ns).Get, "second", storagev1alpha1.ConditionRepositoryInitialized, "DirectoryOwned")
	if !strings.Contains(c.Message, e.ns+"/first") || !strings.Contains(c.Message, string(first.UID)) {
		t.Fatalf("refusal %q does not name the owner %s/first", c.Message, e.ns)
	}
	second, err := e.Cairn.StorageV1alpha1().Repositories(e.ns).Get(ctx, "second", metav1.GetOptions{})
	if err != nil || second.Status.Phase != storagev1alpha1.RepositoryNotReady {
		t.Fatalf("second Repository: %v, err %v; want NotReady", second.Status.Phase, err)
	}
	if m2, err := blob.ParseRepositoryMetadata(e.read(ctx, t, e.ns+"/apps/web/"+blob.RepositoryFile)); err != nil || m2.Repository.UID != first.UID {
		t.Fatalf("the refused Repository changed the record: %+v %v", m2, err)
	}
	// The storage lists the Repositories that use it.
	_, err = operatortest.Until(ctx, time.Minute, "status.repositories to list both Repositories",
		func(ctx context.Context) (*storagev1alpha1.BackupStorage, error) {
			return e.Cairn.StorageV1alpha1().BackupStorages(e.ns).Get(ctx, "minio", metav1.GetOptions{})
		},
		func(bs *storagev1alpha1.BackupStorage) (bool, string) {
			r := bs.Status.Repositories
			return len(r) == 2 && r[0].Name == "first" && r[0].Path == "apps/web" && r[1].Name == "second" && r[1].Namespace == e.ns, fmt.Sprintf("%+v", r)
		})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRepositoryUsagePolicy: a Repository in a namespace the storage's
// usagePolicy does not allow is NotReady saying so; allowing it makes it
// Ready without touching the Repository.
func TestRepositoryUsagePolicy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := newStorageEnv(ctx, t)
	e.readyStorage(ctx, t, storagev1alpha1.DeletionPolicyDelete, nil) // allowedNamespaces: Same
	other := e.Cluster.Namespace(t)
	e.secret(ctx, t, other, "password", map[string]string{"CAIRN_PASSWORD": "integration"})
	e.createRepository(ctx, t, other, repository("app", e.ns, "minio", "other/app", storagev1alpha1.RepositoryDeletionDelete))
	c := waitReason(ctx, t, e.Cairn.StorageV1alpha1().Repositories(other).Get, "app", storagev1alpha1.ConditionStorageFound, "StorageNotAllowed")
	if !strings.Contains(c.Message, `may not be used from namespace "`+other+`"`) || !strings.Contains(c.Message, "allowedNamespaces") {
		t.Fatalf("condition %q, want it to say the namespace is not allowed and what to change", c.Message)
	}
	r, err := e.Cairn.StorageV1alpha1().Repositories(other).Get(ctx, "app", metav1.GetOptions{})
	if err != nil || r.Status.Phase != storagev1alpha1.RepositoryNotReady {
		t.Fatalf("phase %v, err %v", r.Status.Phase, err)
	}
	if keys := e.keys(ctx, t, e.ns+"/other/"); len(keys) != 0 {
		t.Fatalf("a Repository from a namespace not allowed wrote %v", keys)
	}

	bs, err := e.Cairn.StorageV1alpha1().BackupStorages(e.ns).Get(ctx, "minio", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bs.Spec.UsagePolicy = &common.UsagePolicy{AllowedNamespaces: common.AllowedNamespaces{
		From:     ptrTo(common.NamespacesFromSelector),
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": other}}}}
	if _, err := e.Cairn.StorageV1alpha1().BackupStorages(e.ns).Update(ctx, bs, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitRepositoryReady(ctx, t, other, "app")
	e.read(ctx, t, e.ns+"/other/app/"+blob.RepositoryFile)
}

func ptrTo[T any](v T) *T { return &v }

// TestRepositoryDeletionPolicies: deleting a Repository with Delete keeps
// its directory; with WipeOut removes <prefix>/<dir>/ and nothing beside it.
func TestRepositoryDeletionPolicies(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := newStorageEnv(ctx, t)
	e.readyStorage(ctx, t, storagev1alpha1.DeletionPolicyDelete, nil)
	e.createRepository(ctx, t, e.ns, repository("keep", "", "minio", "keep", storagev1alpha1.RepositoryDeletionDelete))
	e.createRepository(ctx, t, e.ns, repository("wipe", "", "minio", "wipe", storagev1alpha1.RepositoryDeletionWipeOut))
	for _, name := range []string{"keep", "wipe"} {
		e.waitRepositoryReady(ctx, t, e.ns, name)
		for _, k := range []string{"/config", "/data/00/aa", "/index/01"} {
			e.put(ctx, t, e.ns+"/"+name+k)
		}
	}
	neighbour := e.ns + "/wipe-not/config" // shares the directory's name as a prefix
	e.put(ctx, t, neighbour)
	for _, name := range []string{"keep", "wipe"} {
		if err := e.Cairn.StorageV1alpha1().Repositories(e.ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitGone(ctx, t, "Repository "+name, time.Minute, func(ctx context.Context) (*storagev1alpha1.Repository, error) {
			return e.Cairn.StorageV1alpha1().Repositories(e.ns).Get(ctx, name, metav1.GetOptions{})
		})
	}
	if kept := e.keys(ctx, t, e.ns+"/keep/"); len(kept) != 4 {
		t.Fatalf("deletionPolicy Delete kept %v, want repository.yaml and the 3 data objects", kept)
	}
	if left := e.keys(ctx, t, e.ns+"/wipe/"); len(left) != 0 {
		t.Fatalf("deletionPolicy WipeOut left %v", left)
	}
	e.read(ctx, t, neighbour)
	e.read(ctx, t, e.ns+"/"+blob.MetadataKey)
}

// TestStorageAdoption: a BackupStorage (deletionPolicy Delete) and its
// Repositories are deleted, the bucket kept; a new BackupStorage on the same
// prefix, in a fresh namespace, adopts the old metadata.yaml as it is and
// recreates the Repositories recorded in the storage, which become Ready.
func TestStorageAdoption(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	e := newStorageEnv(ctx, t)
	e.readyStorage(ctx, t, storagev1alpha1.DeletionPolicyDelete, nil)
	dirs := map[string]string{"web": "apps/web", "db": "apps/db"}
	for name, dir := range dirs {
		e.createRepository(ctx, t, e.ns, repository(name, "", "minio", dir, storagev1alpha1.RepositoryDeletionDelete))
	}
	for name := range dirs {
		e.waitRepositoryReady(ctx, t, e.ns, name)
	}
	oldMeta := e.read(ctx, t, e.ns+"/"+blob.MetadataKey)

	// The old objects go; the data stays.
	for name := range dirs {
		if err := e.Cairn.StorageV1alpha1().Repositories(e.ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Cairn.StorageV1alpha1().BackupStorages(e.ns).Delete(ctx, "minio", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for name := range dirs {
		waitGone(ctx, t, "Repository "+name, time.Minute, func(ctx context.Context) (*storagev1alpha1.Repository, error) {
			return e.Cairn.StorageV1alpha1().Repositories(e.ns).Get(ctx, name, metav1.GetOptions{})
		})
	}
	waitGone(ctx, t, "BackupStorage minio", time.Minute, func(ctx context.Context) (*storagev1alpha1.BackupStorage, error) {
		return e.Cairn.StorageV1alpha1().BackupStorages(e.ns).Get(ctx, "minio", metav1.GetOptions{})
	})

	// A new BackupStorage elsewhere, on the same bucket and prefix; the
	// Repositories come back in the namespace they were recorded in, so the
	// storage must allow it.
	fresh := e.Cluster.Namespace(t)
	e.secret(ctx, t, fresh, "s3", map[string]string{blob.KeyAWSAccessKeyID: e.minio.AccessKey, blob.KeyAWSSecretAccessKey: e.minio.SecretKey})
	adopter := e.s3Storage("adopter", storageBucket, e.ns, storagev1alpha1.DeletionPolicyDelete)
	adopter.Spec.UsagePolicy = fromNamespaces(common.NamespacesFromAll)
	e.createStorage(ctx, t, fresh, adopter)
	c := waitReason(ctx, t, e.Cairn.StorageV1alpha1().BackupStorages(fresh).Get, "adopter", storagev1alpha1.ConditionStorageInitialized, "Adopted")
	if !strings.Contains(c.Message, e.ns+"/minio") {
		t.Fatalf("Adopted condition %q does not name the BackupStorage that wrote metadata.yaml", c.Message)
	}
	e.waitStorage(ctx, t, fresh, "adopter", "RepositoriesImported", metav1.ConditionTrue)
	if got := e.read(ctx, t, e.ns+"/"+blob.MetadataKey); string(got) != string(oldMeta) {
		t.Fatalf("metadata.yaml was rewritten:\n%s\nwas:\n%s", got, oldMeta)
	}
	for name, dir := range dirs {
		r := e.waitRepositoryReady(ctx, t, e.ns, name)
		if r.Spec.StorageRef.Namespace != fresh || r.Spec.StorageRef.Name != "adopter" || r.Spec.Path != dir {
			t.Fatalf("recreated Repository %s: spec %+v", name, r.Spec)
		}
		m, err := blob.ParseRepositoryMetadata(e.read(ctx, t, e.ns+"/"+dir+"/"+blob.RepositoryFile))
		if err != nil || m.Repository.UID != r.UID {
			t.Fatalf("%s's repository.yaml names %+v (err %v), want the recreated Repository %s", dir, m, err, r.UID)
		}
	}
}
