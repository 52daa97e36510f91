package blob

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

// TestLocalJobSteps runs what `cairn storage` does in a Job on a real
// directory: init writes metadata.yaml, a second BackupStorage adopts it
// and lists the records, record claims and takes over, wipe deletes.
func TestLocalJobSteps(t *testing.T) {
	ctx := context.Background()
	b, err := backend.Open(ctx, "file://"+t.TempDir(), backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	first := &StorageMetadata{Cluster: "c1", BackupStorage: ObjectRef{Namespace: "ns", Name: "bs", UID: "bs-1"}}
	if r := InitStorage(ctx, b, first); r.Err() != nil || !r.Created || r.Storage.BackupStorage.UID != "bs-1" || len(r.Repositories) != 0 {
		t.Fatalf("init: %+v", r)
	}
	if r := InitStorage(ctx, b, first); r.Created || r.Storage == nil || r.Repositories != nil {
		t.Fatalf("init again: %+v; want the record kept and no listing", r)
	}
	web := &RepositoryMetadata{Cluster: "c1", Repository: ObjectRef{Namespace: "apps", Name: "web", UID: "r-1"}}
	if r := RecordRepository(ctx, b, "apps/web", web, ""); !r.Created || r.Repository.Repository.UID != "r-1" {
		t.Fatalf("record: %+v", r)
	}
	other := &RepositoryMetadata{Cluster: "c1", Repository: ObjectRef{Namespace: "apps", Name: "web2", UID: "r-2"}}
	if r := RecordRepository(ctx, b, "apps/web", other, ""); r.Created || r.Repository.Repository.UID != "r-1" {
		t.Fatalf("record over an owned directory: %+v; want the owner reported", r)
	}
	if r := RecordRepository(ctx, b, "apps/web", other, "not-the-owner"); r.Created || r.Repository.Repository.UID != "r-1" {
		t.Fatalf("take over naming another UID: %+v", r)
	}
	if err := b.Put(ctx, "junk/repository.yaml", []byte("version: 99\n")); err != nil {
		t.Fatal(err)
	}
	second := &StorageMetadata{Cluster: "c2", BackupStorage: ObjectRef{Namespace: "x", Name: "bs", UID: "bs-2"}}
	r := InitStorage(ctx, b, second)
	if r.Created || r.Storage.Cluster != "c1" || len(r.Repositories) != 1 || r.Repositories[0].Spec.Path != "apps/web" || len(r.Unread) != 1 || r.Unread[0] != "junk" {
		t.Fatalf("adopting init: %+v", r)
	}
	if r := RecordRepository(ctx, b, "apps/web", other, "r-1"); !r.Created || r.Repository.Repository.UID != "r-2" {
		t.Fatalf("take over: %+v", r)
	}
	if r := WipeStorage(ctx, b, "apps/"); r.Err() != nil || r.Deleted != 1 {
		t.Fatalf("wipe: %+v", r)
	}
	if r := WipeStorage(ctx, b, ""); r.Err() != nil || r.Deleted != 2 {
		t.Fatalf("wipe all: %+v", r)
	}
}

func TestJobResultFitsATerminationMessage(t *testing.T) {
	r := JobResult{Storage: &StorageMetadata{Version: 1, Cluster: "c", BackupStorage: ObjectRef{Namespace: "n", Name: "s", UID: "u"}}}
	for i := 0; i < 100; i++ {
		dir := fmt.Sprintf("namespace-%03d/repository", i)
		r.Repositories = append(r.Repositories, RepositoryMetadata{Version: 1, Cluster: "c",
			Repository: ObjectRef{Namespace: "n", Name: fmt.Sprint(i), UID: types.UID(strings.Repeat("u", 36))}, Spec: storagev1.RepositorySpec{Path: dir}})
	}
	data := r.Encode()
	if len(data) > MaxResult {
		t.Fatalf("%d bytes", len(data))
	}
	got, err := ParseJobResult(data)
	if err != nil || !got.Truncated || len(got.Repositories) == 0 || len(got.Repositories)+len(got.Unread) > 100 {
		t.Fatalf("parsed %d repositories, %d unread, truncated %v, %v", len(got.Repositories), len(got.Unread), got.Truncated, err)
	}
	if _, err := ParseJobResult([]byte(`{"storage":{"version":1}}`)); err == nil {
		t.Fatal("a storage record naming no cluster was accepted")
	}
}

func FuzzParseJobResult(f *testing.F) {
	f.Add([]byte(`{"storage":{"version":1,"cluster":"c","backupStorage":{"namespace":"n","name":"s","uid":"u"}},"created":true}`))
	f.Add([]byte(`{"reason":"BucketNotFound","message":"no"}`))
	f.Add([]byte(`{"repositories":[{"version":1,"cluster":"c","repository":{"namespace":"n","name":"r","uid":"u"},"spec":{"path":"a"}}],"unread":["b"],"truncated":true}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseJobResult(data)
		if err != nil {
			return
		}
		if r.Storage != nil && (r.Storage.Cluster == "" || r.Storage.BackupStorage.UID == "") {
			t.Fatalf("accepted %+v", r.Storage)
		}
		for _, m := range r.Repositories {
			if m.Cluster == "" || m.Repository.UID == "" {
				t.Fatalf("accepted %+v", m)
			}
		}
		if _, err := ParseJobResult(r.Encode()); err != nil && len(r.Encode()) <= MaxResult {
			t.Fatalf("a parsed result does not read back: %v", err)
		}
	})
}
