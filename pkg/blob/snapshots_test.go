package blob

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

func snapshotRecord(name string) *SnapshotRecord {
	t := metav1.Unix(1700000000, 0)
	return &SnapshotRecord{Cluster: "c", Namespace: "ns", Name: name,
		Labels: map[string]string{"cairn.dev/repository": "app"},
		Spec:   storagev1.SnapshotSpec{Repository: "app", Session: "daily"},
		Status: storagev1.SnapshotStatus{Phase: storagev1.SnapshotSucceeded, SnapshotTime: &t,
			Components: map[string]storagev1.Component{"dump": {Phase: storagev1.ComponentSucceeded, DataMoverSnapshotID: "abc"}}}}
}

// TestSnapshotRecords writes, replaces, finds and deletes records next to
// an engine repository, and never touches the engine's objects.
func TestSnapshotRecords(t *testing.T) {
	ctx := context.Background()
	b, err := backend.Open(ctx, "file://"+t.TempDir(), backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Put(ctx, "ns/app/snapshots/0123", []byte("engine")); err != nil {
		t.Fatal(err)
	}
	first := snapshotRecord("app-daily-1")
	if err := WriteSnapshotRecord(ctx, b, "ns/app", first); err != nil {
		t.Fatal(err)
	}
	if err := WriteSnapshotRecord(ctx, b, "ns/app", snapshotRecord("app-daily-1")); err != nil {
		t.Fatalf("writing the same record again: %v", err)
	}
	changed := snapshotRecord("app-daily-1")
	changed.Status.Integrity = new(bool)
	if err := WriteSnapshotRecord(ctx, b, "ns/app", changed); err != nil {
		t.Fatalf("replacing a record: %v", err)
	}
	if err := WriteSnapshotRecord(ctx, b, "ns/app", snapshotRecord("app-daily-2")); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "ns/app/cairn-snapshots/app-daily-3.yaml", []byte("version: 1\ncluster: c\nnamespace: ns\nname: other\nspec: {repository: app}\n")); err != nil {
		t.Fatal(err)
	}
	found, err := FindSnapshots(ctx, b, "ns/app")
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 3 {
		t.Fatalf("found %d records, want 3: %+v", len(found), found)
	}
	if found[0].Err != nil || found[0].Record.Status.Integrity == nil || *found[0].Record.Status.Integrity {
		t.Fatalf("the replaced record: %+v", found[0])
	}
	if found[1].Err != nil || found[1].Record.Name != "app-daily-2" || found[1].Record.Status.Components["dump"].DataMoverSnapshotID != "abc" {
		t.Fatalf("the second record: %+v", found[1])
	}
	if found[2].Err == nil || !strings.Contains(found[2].Err.Error(), "not the one its key names") {
		t.Fatalf("a record under another name's key: %+v", found[2])
	}
	if err := DeleteSnapshotRecord(ctx, b, "ns/app", "app-daily-1"); err != nil {
		t.Fatal(err)
	}
	if err := DeleteSnapshotRecord(ctx, b, "ns/app", "app-daily-1"); err != nil {
		t.Fatalf("deleting a missing record: %v", err)
	}
	if found, _ = FindSnapshots(ctx, b, "ns/app"); len(found) != 2 {
		t.Fatalf("after the delete: %+v", found)
	}
	if data, err := b.Get(ctx, "ns/app/snapshots/0123"); err != nil || string(data) != "engine" {
		t.Fatalf("the engine's object: %q %v", data, err)
	}
}

func TestParseSnapshotRecordRefuses(t *testing.T) {
	for in, says := range map[string]string{
		"cluster: c\n": "no version",
		"version: 2\ncluster: c\nspec: {repository: r}\nname: a\nnamespace: n\n":                     "upgrade Cairn",
		"version: 1\nspec: {repository: r}\nname: a\nnamespace: n\n":                                 "no cluster",
		"version: 1\ncluster: c\nname: a\nnamespace: n\n":                                            "no repository",
		"version: 1\ncluster: c\nspec: {repository: r}\nname: A_b\nnamespace: n\n":                   "not an object name",
		"version: 1\ncluster: c\nspec: {repository: r}\nname: a\nnamespace: n/x\n":                   "not a namespace",
		"version: 1\ncluster: c\nspec: {repository: r}\nname: a\nnamespace: n\nlabels: {'a b': c}\n": "not a valid label",
		"[": "not valid YAML",
	} {
		if _, err := ParseSnapshotRecord([]byte(in)); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("%.30q: %v, want %q", in, err, says)
		}
	}
}

// FuzzParseSnapshotRecord feeds bucket content to the snapshot record
// parser: what it accepts must be safe to create as an object.
func FuzzParseSnapshotRecord(f *testing.F) {
	data, _ := Encode(snapshotRecord("app-daily-1"))
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseSnapshotRecord(data)
		if err == nil && (m.Cluster == "" || m.Name == "" || m.Namespace == "" || m.Spec.Repository == "" || strings.Contains(m.Name, "/")) {
			t.Fatalf("accepted %+v", m)
		}
	})
}
