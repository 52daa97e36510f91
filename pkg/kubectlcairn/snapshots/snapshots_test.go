package snapshots

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/client/clientset/versioned/fake"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/internal/fixture"
)

func TestListNewestFirstAndByRepository(t *testing.T) {
	running := fixture.Snapshot("web-3", "web", "web", "", -time.Minute, "")
	running.Status.SnapshotTime = nil
	running.Status.Size = ""
	running.Status.Components["dump"] = storagev1alpha1.Component{Stats: &storagev1alpha1.FileStats{TotalBytes: 3 << 20}}
	c := fake.NewSimpleClientset(fixture.Repository("web", fixture.Web), fixture.Repository("db", fixture.Web),
		fixture.Snapshot("web-1", "web", "web", storagev1alpha1.SnapshotSucceeded, -48*time.Hour, "aaaa"),
		fixture.Snapshot("web-2", "web", "web", storagev1alpha1.SnapshotFailed, -24*time.Hour, ""),
		running,
		fixture.Snapshot("db-1", "db", "db", storagev1alpha1.SnapshotSucceeded, -time.Hour, "bbbb"),
	)
	rows, err := List(context.Background(), c, fixture.NS, "web")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.Name+":"+r.Phase)
	}
	if strings.Join(got, " ") != "web-3:Pending web-2:Failed web-1:Succeeded" {
		t.Fatalf("rows %v", got)
	}
	if rows[0].Size != "3.0 MiB" || rows[1].Size != "1.0 MiB" {
		t.Fatalf("sizes %q %q", rows[0].Size, rows[1].Size)
	}
	if c := rows[2].Components; len(c) != 1 || c[0].Name != "dump" || c[0].SnapshotID != "aaaa" {
		t.Fatalf("components %+v", c)
	}
	all, err := List(context.Background(), c, fixture.NS, "")
	if err != nil || len(all) != 4 || all[0].Name != "web-3" || all[1].Name != "db-1" {
		t.Fatalf("all: %+v, %v", all, err)
	}
	var b strings.Builder
	if err := WriteTable(&b, rows, fixture.Epoch, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "web-1") || !strings.Contains(b.String(), "2d ago") || !strings.Contains(b.String(), "dump") {
		t.Fatalf("table:\n%s", b.String())
	}
	if _, err := List(context.Background(), c, fixture.NS, "nosuch"); err == nil || !strings.Contains(err.Error(), "Repository ns/nosuch") {
		t.Fatalf("missing repository: %v", err)
	}
}
