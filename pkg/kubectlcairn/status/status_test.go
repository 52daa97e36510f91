package status

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/client/clientset/versioned/fake"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/internal/fixture"
)

func TestRowsTellTheStoryOfEachConfig(t *testing.T) {
	web := fixture.Config("web", "nightly")
	next := fixture.At(15 * time.Hour)
	web.Status.NextSchedule = &next
	paused := fixture.Config("db", "hourly")
	paused.Spec.Paused = true
	paused.Status.NextSchedule = &next
	repo := fixture.Repository("web", fixture.Web)
	repo.Status.Size = "12.5 MiB"
	c := fake.NewSimpleClientset(web, paused, repo,
		fixture.Session("web-nightly-1", "web", "nightly", corev1alpha1.BackupSessionSucceeded, -26*time.Hour),
		fixture.Session("web-nightly-2", "web", "nightly", corev1alpha1.BackupSessionFailed, -2*time.Hour),
		fixture.Session("other-nightly-3", "other", "nightly", corev1alpha1.BackupSessionSucceeded, -time.Hour),
		// A newer success whose session the history limit removed.
		fixture.Snapshot("web-nightly-s", "web", "web", storagev1alpha1.SnapshotSucceeded, -20*time.Hour, ""),
	)
	rows, err := Rows(context.Background(), c, fixture.NS, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Config != "db" || rows[1].Config != "web" {
		t.Fatalf("rows %+v", rows)
	}
	db, w := rows[0], rows[1]
	if db.Phase != "Paused" || db.NextRun != nil || db.LastBackup != "" || db.LastSuccess != nil {
		t.Fatalf("paused config: %+v", db)
	}
	if w.Phase != "Ready" || w.LastBackup != "web-nightly-2" || w.LastResult != "Failed" || !w.NextRun.Equal(&next) {
		t.Fatalf("web: %+v", w)
	}
	if want := fixture.At(-20 * time.Hour); w.LastSuccess == nil || !w.LastSuccess.Equal(&want) {
		t.Fatalf("last success %v, want the Snapshot's time %v", w.LastSuccess, want)
	}
	if len(w.Repositories) != 1 || w.Repositories[0] != (RepositorySize{Name: "web", Size: "12.5 MiB"}) {
		t.Fatalf("repositories %+v", w.Repositories)
	}

	var b strings.Builder
	if err := WriteTable(&b, rows, fixture.Epoch, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "CONFIG") {
		t.Fatalf("table:\n%s", b.String())
	}
	for _, want := range []string{"web", "Ready", "web-nightly-2", "Failed", "120m ago", "20h ago", "in 15h", "12.5 MiB"} {
		if !strings.Contains(lines[2], want) {
			t.Errorf("web's line lacks %q: %s", want, lines[2])
		}
	}
	if !strings.Contains(lines[1], "Paused") || !strings.Contains(lines[1], "never") || !strings.Contains(lines[1], "unknown") {
		t.Errorf("db's line: %s", lines[1])
	}
}

func TestRowsOfOneConfig(t *testing.T) {
	c := fake.NewSimpleClientset(fixture.Config("web", "nightly"), fixture.Config("db", "hourly"))
	rows, err := Rows(context.Background(), c, fixture.NS, "web")
	if err != nil || len(rows) != 1 || rows[0].Config != "web" || rows[0].LastResult != "" {
		t.Fatalf("rows %+v, %v", rows, err)
	}
	if _, err := Rows(context.Background(), c, fixture.NS, "nosuch"); err == nil || !strings.Contains(err.Error(), "ns/nosuch") {
		t.Fatalf("missing config: %v", err)
	}
	if rows, err := Rows(context.Background(), fake.NewSimpleClientset(), fixture.NS, ""); err != nil || len(rows) != 0 {
		t.Fatalf("empty namespace: %+v, %v", rows, err)
	}
}

func TestSizesOfSeveralRepositories(t *testing.T) {
	got := repoSizes([]RepositorySize{{Name: "a", Size: "1 MiB"}, {Name: "b"}})
	if got != "a=1 MiB, b=unknown" {
		t.Fatal(got)
	}
}

func TestRowsOfAllNamespacesKeepThemApart(t *testing.T) {
	other := fixture.Config("web", "nightly")
	other.Namespace = "other"
	otherRepo := fixture.Repository("web", fixture.Web)
	otherRepo.Namespace, otherRepo.Status.Size = "other", "7 MiB"
	c := fake.NewSimpleClientset(fixture.Config("web", "nightly"), other, otherRepo,
		fixture.Session("web-nightly-1", "web", "nightly", corev1alpha1.BackupSessionSucceeded, -time.Hour))
	rows, err := Rows(context.Background(), c, "", "")
	if err != nil || len(rows) != 2 || rows[0].Namespace != fixture.NS || rows[1].Namespace != "other" {
		t.Fatalf("rows %+v, %v", rows, err)
	}
	if rows[0].LastBackup != "web-nightly-1" || rows[1].LastBackup != "" || rows[0].Repositories[0].Size != "" || rows[1].Repositories[0].Size != "7 MiB" {
		t.Fatalf("a namespace's sessions or sizes leaked into another's: %+v", rows)
	}
	var b strings.Builder
	if err := WriteTable(&b, rows, fixture.Epoch, true); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(b.String(), "\n"); !strings.HasPrefix(lines[0], "NAMESPACE  CONFIG") || !strings.HasPrefix(lines[2], "other") {
		t.Fatalf("table:\n%s", b.String())
	}
}
