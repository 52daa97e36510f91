package repository

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops/storageopstest"
)

func readyLocalStorage() *storagev1.BackupStorage {
	bs := readyStorage()
	bs.UID = "bs-uid"
	bs.Spec.Storage = storagev1.Backend{Provider: storagev1.ProviderLocal, Local: &storagev1.LocalSpec{MountPath: "/backup",
		VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "nfs"}}}}
	return bs
}

// storageJobs returns the Jobs in the storage's namespace, loaded into the
// informer cache.
func (f *fixture) storageJobs() []batchv1.Job {
	f.t.Helper()
	jobs, err := storageopstest.Jobs(f.ctx, f.kube, "storage", f.jobIndex)
	if err != nil {
		f.t.Fatal(err)
	}
	return jobs
}

// finish ends the running Job of verb (the take-over one, or not) with res.
func (f *fixture) finish(verb string, takeOver bool, res blob.JobResult) {
	f.t.Helper()
	for _, j := range f.storageJobs() {
		args := j.Spec.Template.Spec.Containers[0].Args
		hasTakeOver := args[len(args)-2] == "--take-over"
		if args[1] == verb && hasTakeOver == takeOver && len(j.Status.Conditions) == 0 {
			if err := storageopstest.FinishJob(f.ctx, f.kube, "storage", j.Name, res); err != nil {
				f.t.Fatal(err)
			}
			f.storageJobs()
			return
		}
	}
	f.t.Fatalf("no running %s Job (take-over %v)", verb, takeOver)
}

func ownerRecord(uid, name string) *blob.RepositoryMetadata {
	return &blob.RepositoryMetadata{Version: 1, Cluster: clusterUID, Repository: blob.ObjectRef{Namespace: "apps", Name: name, UID: typesUID(uid)}}
}

func TestLocalStorageRecordsThroughAJob(t *testing.T) {
	f := newFixture(t, readyLocalStorage(), password(KeyPassword), newRepository("web", "r-1", "apps/web"))
	f.sync("apps", "web")
	jobs := f.storageJobs()
	if len(jobs) != 1 || jobs[0].Labels[storageops.LabelRepositoryName] != "web" || jobs[0].OwnerReferences[0].Name != "s3" {
		t.Fatalf("Jobs %+v: want one record Job in the storage's namespace, owned by it, labelled with the Repository", jobs)
	}
	f.expect(f.get("apps", "web"), storagev1.RepositoryNotReady, storagev1.ConditionRepositoryInitialized, ReasonInitializing, jobs[0].Name)
	f.finish("record", false, blob.JobResult{Created: true, Repository: ownerRecord("r-1", "web")})
	f.sync("apps", "web")
	f.expect(f.get("apps", "web"), storagev1.RepositoryReady, storagev1.ConditionRepositoryInitialized, ReasonInitialized, "file:///backup/apps/web")
	f.expectEvent(EventRecorded, "file:///backup/apps/web")
	f.writes()
	f.sync("apps", "web")
	if n := f.writes(); n != 0 || len(f.storageJobs()) != 1 {
		t.Fatalf("%d writes, %d Jobs after Ready; want none and the one", n, len(f.storageJobs()))
	}
}

func TestLocalStorageOwnershipAndTakeOver(t *testing.T) {
	// A live owner refuses; the Job's result is the owner's record.
	f := newFixture(t, readyLocalStorage(), password(KeyPassword), newRepository("web", "r-1", "apps/web"), newRepository("copy", "r-2", "apps/web"))
	f.sync("apps", "copy")
	f.finish("record", false, blob.JobResult{Repository: ownerRecord("r-1", "web")})
	f.sync("apps", "copy")
	f.expect(f.get("apps", "copy"), storagev1.RepositoryNotReady, storagev1.ConditionRepositoryInitialized, ReasonDirectoryOwned, "apps/web (uid r-1)")

	// A gone owner: a second Job takes the directory over.
	g := newFixture(t, readyLocalStorage(), password(KeyPassword), newRepository("web", "r-3", "apps/web"))
	g.sync("apps", "web")
	g.finish("record", false, blob.JobResult{Repository: ownerRecord("r-old", "web")})
	g.sync("apps", "web")
	if n := len(g.storageJobs()); n != 2 {
		t.Fatalf("%d Jobs, want the record Job and the take-over Job", n)
	}
	g.finish("record", true, blob.JobResult{Created: true, Repository: ownerRecord("r-3", "web")})
	g.sync("apps", "web")
	g.expect(g.get("apps", "web"), storagev1.RepositoryReady, storagev1.ConditionRepositoryInitialized, ReasonAdopted, "continues directory apps/web")
}

func TestLocalStorageWipeOutRunsAJob(t *testing.T) {
	r := newRepository("web", "r-1", "apps/web")
	r.Spec.DeletionPolicy = storagev1.RepositoryDeletionWipeOut
	ts := metav1.NewTime(time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC))
	r.DeletionTimestamp = &ts
	f := newFixture(t, readyLocalStorage(), r)
	f.sync("apps", "web")
	jobs := f.storageJobs()
	if len(jobs) != 1 || jobs[0].Spec.Template.Spec.Containers[0].Args[5] != "apps/web/" || !storageops.HasFinalizer(f.get("apps", "web")) {
		t.Fatalf("Jobs %+v: want one wipe Job of apps/web/, the finalizer kept while it runs", jobs)
	}
	f.finish("wipe", false, blob.JobResult{Deleted: 4})
	f.sync("apps", "web")
	if storageops.HasFinalizer(f.get("apps", "web")) {
		t.Fatal("finalizer kept after the wipe")
	}
	f.expectEvent(EventWiped, "deleted 4 objects")
}
