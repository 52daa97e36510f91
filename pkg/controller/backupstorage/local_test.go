package backupstorage

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops/storageopstest"
)

func localStorage() *storagev1.BackupStorage {
	bs := s3Storage("")
	bs.Spec.Storage = storagev1.Backend{Provider: storagev1.ProviderLocal, Local: &storagev1.LocalSpec{MountPath: "/backup",
		VolumeSource: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nfs", Path: "/exports"}}}}
	return bs
}

// jobs returns the storage Jobs the controller created, loaded into the
// informer cache.
func (f *fixture) jobs() []batchv1.Job {
	f.t.Helper()
	jobs, err := storageopstest.Jobs(f.ctx, f.kube, "ns", f.jobIndex)
	if err != nil {
		f.t.Fatal(err)
	}
	return jobs
}

// finishJob ends the Job with res as its pod's termination message.
func (f *fixture) finishJob(name string, res blob.JobResult) {
	f.t.Helper()
	if err := storageopstest.FinishJob(f.ctx, f.kube, "ns", name, res); err != nil {
		f.t.Fatal(err)
	}
	f.jobs()
}

func TestLocalStorageIsInitialisedByAJob(t *testing.T) {
	f := newFixture(t, localStorage())
	f.sync("ns", "store")
	jobs := f.jobs()
	if len(jobs) != 1 || jobs[0].Spec.Template.Spec.Containers[0].Args[1] != "init" || jobs[0].Spec.Template.Spec.Containers[0].Image != "cairn:test" {
		t.Fatalf("Jobs %+v, want one init Job of the runner image", jobs)
	}
	got := f.get("ns", "store")
	if c := condition(got, storagev1.ConditionStorageInitialized); c.Reason != ReasonInitializing || !strings.Contains(c.Message, jobs[0].Name) || got.Status.Phase != storagev1.BackupStorageNotReady {
		t.Fatalf("while the Job runs: %+v", got.Status)
	}
	f.sync("ns", "store") // a duplicate event: no second Job
	if n := len(f.jobs()); n != 1 {
		t.Fatalf("%d Jobs after a second sync", n)
	}

	f.finishJob(jobs[0].Name, blob.JobResult{Created: true, Storage: &blob.StorageMetadata{Version: 1, Cluster: clusterUID,
		BackupStorage: blob.ObjectRef{Namespace: "ns", Name: "store", UID: "bs-1"}}})
	f.sync("ns", "store")
	got = f.get("ns", "store")
	if c := condition(got, storagev1.ConditionStorageInitialized); c.Reason != ReasonInitialized || got.Status.Phase != storagev1.BackupStorageReady || !strings.Contains(c.Message, "file:///backup") {
		t.Fatalf("after the Job: %+v", got.Status)
	}
	f.expectEvent(EventInitialized, "file:///backup")
	f.kube.ClearActions()
	f.writes()
	f.sync("ns", "store")
	if n := f.writes(); n != 0 || len(f.kube.Actions()) != 0 {
		t.Fatalf("a Ready local storage made %d writes and %d API calls", n, len(f.kube.Actions()))
	}
}

func TestLocalStorageAdoptsAndReportsFailures(t *testing.T) {
	f := newFixture(t, localStorage())
	f.sync("ns", "store")
	name := f.jobs()[0].Name
	rec := blob.RepositoryMetadata{Version: 1, Cluster: "old", Repository: blob.ObjectRef{Namespace: "apps", Name: "web", UID: "r"},
		Spec: storagev1.RepositorySpec{Path: "apps/web"}}
	f.finishJob(name, blob.JobResult{Storage: &blob.StorageMetadata{Version: 1, Cluster: "old", BackupStorage: blob.ObjectRef{Namespace: "x", Name: "y", UID: "z"}},
		Repositories: []blob.RepositoryMetadata{rec}})
	// An import that fails is tried again from the same Job's result.
	f.failOn("create", "repositories", "", apierrors.NewServiceUnavailable("etcd is busy"))
	f.sync("ns", "store")
	if c := condition(f.get("ns", "store"), ConditionRepositoriesImported); c.Reason != ReasonImportIncomplete {
		t.Fatalf("import with the API failing: %+v", c)
	}
	f.cairn.ReactionChain = f.cairn.ReactionChain[1:]
	f.sync("ns", "store")
	got := f.get("ns", "store")
	if c := condition(got, storagev1.ConditionStorageInitialized); c.Reason != ReasonAdopted || condition(got, ConditionRepositoriesImported).Status != metav1.ConditionTrue {
		t.Fatalf("adopting: %+v", got.Status)
	}
	if r, err := f.cairn.StorageV1alpha1().Repositories("apps").Get(f.ctx, "web", metav1.GetOptions{}); err != nil || r.Spec.StorageRef.Name != "store" {
		t.Fatalf("Repository not recreated: %v", err)
	}

	// A volume that refuses: the reason is the Job's, and the Job goes so
	// the retry starts another.
	g := newFixture(t, localStorage())
	g.sync("ns", "store")
	name = g.jobs()[0].Name
	g.finishJob(name, blob.JobResult{Reason: blob.ReasonPermissionDenied, Message: "mkdir /backup/x: permission denied"})
	if requeue := g.sync("ns", "store"); requeue <= 0 {
		t.Fatal("a failed init is not retried")
	}
	if c := condition(g.get("ns", "store"), storagev1.ConditionStorageInitialized); c.Reason != string(blob.ReasonPermissionDenied) || !strings.Contains(c.Message, "permission denied") {
		t.Fatalf("failure %+v", c)
	}
	if n := len(g.jobs()); n != 0 {
		t.Fatalf("%d Jobs left after a failure, want the failed one deleted", n)
	}
}

func TestLocalStorageWipeOutRunsAJob(t *testing.T) {
	bs := localStorage()
	bs.Spec.DeletionPolicy = storagev1.DeletionPolicyWipeOut
	ts := metav1.NewTime(time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC))
	bs.DeletionTimestamp = &ts
	f := newFixture(t, bs)
	f.sync("ns", "store")
	jobs := f.jobs()
	if len(jobs) != 1 || jobs[0].Spec.Template.Spec.Containers[0].Args[1] != "wipe" {
		t.Fatalf("Jobs %+v, want one wipe Job", jobs)
	}
	if !storageops.HasFinalizer(f.get("ns", "store")) {
		t.Fatal("finalizer removed before the wipe ran")
	}
	f.finishJob(jobs[0].Name, blob.JobResult{Deleted: 5})
	f.sync("ns", "store")
	if got, err := f.cairn.StorageV1alpha1().BackupStorages("ns").Get(f.ctx, "store", metav1.GetOptions{}); err != nil || storageops.HasFinalizer(got) {
		t.Fatalf("finalizer kept after the wipe: %v", err)
	}
	f.expectEvent(EventWiped, "deleted 5 objects")
}
