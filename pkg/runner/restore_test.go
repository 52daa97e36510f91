package runner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/repo"
)

// backedUp runs a backup of the fixture's data into Snapshot name,
// marked Succeeded at time at.
func (f *fixture) backedUp(name string, at time.Time) *BackupResult {
	f.t.Helper()
	res, err := f.runner.Backup(context.Background(), f.backupRequest(f.snapshot(name), "dump"))
	if err != nil {
		f.t.Fatal(err)
	}
	f.markSucceeded(name, at)
	return res
}

func TestRestoreLatestByteForByte(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.backedUp("s1", time.Unix(1700000000, 0))
	writeFiles(t, f.data, map[string]string{"orders.db": "order 1\norder 2\norder 3\n"})
	randomFile(t, filepath.Join(f.data, "img", "photo.raw"), 3<<20)
	second := f.backedUp("s2", time.Unix(1700003600, 0))

	target := t.TempDir()
	res, err := f.runner.Restore(ctx, RestoreRequest{Namespace: appNS, RestoreSession: f.restoreSession("r1", "latest", encSecret), Component: "dump", TargetPath: target})
	if err != nil {
		t.Fatal(err)
	}
	if res.Snapshot != "s2" || res.SnapshotID != second.SnapshotID {
		t.Fatalf("latest restored %s (%s), want s2 (%s)", res.Snapshot, res.SnapshotID, second.SnapshotID)
	}
	sameTree(t, f.data, filepath.Join(target, f.data))
	c := f.restoreComponent("r1", "dump")
	if c.Phase != storagev1.ComponentSucceeded || c.Duration == "" || c.Error != "" || c.Progress != nil {
		t.Fatalf("component %+v", c)
	}
	patches := statusPatches(t, f.cairn.Actions(), "restoresessions")
	for _, p := range patches {
		if comps := p["status"].(map[string]any)["components"].(map[string]any); len(comps) != 1 || comps["dump"] == nil {
			t.Fatalf("patch %v touches another key", p)
		}
	}
}

func TestRestoreIntoTheSamePathsOverwritesAndKeepsOthers(t *testing.T) {
	f := newFixture(t, nil)
	f.backedUp("s1", time.Now())
	want := t.TempDir()
	if err := copyTree(f.data, want); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, f.data, map[string]string{"orders.db": "damaged", "conf/settings.ini": ""})
	writeFiles(t, f.data, map[string]string{"extra.log": "written after the backup"})
	// The default target "/" puts the snapshot's absolute paths back.
	if _, err := f.runner.Restore(context.Background(), RestoreRequest{Namespace: appNS, RestoreSession: f.restoreSession("r1", "s1", encSecret), Component: "dump"}); err != nil {
		t.Fatal(err)
	}
	extra := filepath.Join(f.data, "extra.log")
	if b, err := os.ReadFile(extra); err != nil || string(b) != "written after the backup" {
		t.Fatalf("a file not in the snapshot was not kept: %q, %v", b, err)
	}
	os.Remove(extra)
	sameTree(t, want, f.data)
}

func TestRestoreWithDeleteExtraRemovesWhatTheSnapshotLacks(t *testing.T) {
	f := newFixture(t, nil)
	f.backedUp("s1", time.Now())
	want := t.TempDir()
	if err := copyTree(f.data, want); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, f.data, map[string]string{"orders.db": "damaged", "extra.log": "written after the backup", "later/x": "new dir"})
	res, err := f.runner.Restore(context.Background(), RestoreRequest{Namespace: appNS, RestoreSession: f.restoreSession("r1", "s1", encSecret), Component: "dump", DeleteExtra: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Deleted != 2 {
		t.Fatalf("deleted %d entries, want extra.log and later/", res.Stats.Deleted)
	}
	sameTree(t, want, f.data)
}

func TestRestoreFailuresSayWhich(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.backedUp("s1", time.Now())
	f.kube.CoreV1().Secrets(appNS).Create(ctx, passwordSecret(appNS, "wrong", "guess"), metavCreate)
	pending := f.snapshot("s-pending")
	for _, tc := range []struct {
		session, snapshot, secret, component string
		components                           []string
		want                                 string
		is                                   error
	}{
		{"r-nosnap", "s-gone", encSecret, "dump", nil, "snapshot missing: Snapshot shop/s-gone (spec.dataSource.snapshot) does not exist", nil},
		{"r-nocomp", "s1", encSecret, "dump-pod-3", nil, "missing component: Snapshot s1 has no component dump-pod-3 (it has dump)", nil},
		{"r-notasked", "s1", encSecret, "dump", []string{"dump-pod-0"}, "component dump is not one of the RestoreSession's spec.dataSource.components", nil},
		{"r-pending", pending, encSecret, "dump", nil, "missing component: Snapshot s-pending has no component dump (it has none)", nil},
		{"r-password", "s1", "wrong", "dump", nil, "wrong password: the password in Secret shop/wrong does not open the repository", repo.ErrWrongPassword},
	} {
		t.Run(tc.session, func(t *testing.T) {
			f.restoreSession(tc.session, tc.snapshot, tc.secret, tc.components...)
			_, err := f.runner.Restore(ctx, RestoreRequest{Namespace: appNS, RestoreSession: tc.session, Component: tc.component, TargetPath: t.TempDir()})
			c := f.restoreComponent(tc.session, tc.component)
			if err == nil || c.Phase != storagev1.ComponentFailed || !strings.Contains(c.Error, tc.want) {
				t.Fatalf("err %v, component %+v, want error with %q", err, c, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("err %v is not %v", err, tc.is)
			}
			if strings.Contains(c.Error, "guess") || strings.Contains(c.Error, goodPasswd) {
				t.Fatalf("a password in the status: %q", c.Error)
			}
		})
	}
}

func TestRestoreOfAForgottenEngineSnapshotFails(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	res := f.backedUp("s1", time.Now())
	if err := f.engine().DeleteSnapshot(ctx, mustID(t, res.SnapshotID)); err != nil {
		t.Fatal(err)
	}
	_, err := f.runner.Restore(ctx, RestoreRequest{Namespace: appNS, RestoreSession: f.restoreSession("r1", "s1", encSecret), Component: "dump", TargetPath: t.TempDir()})
	if c := f.restoreComponent("r1", "dump"); err == nil || !strings.Contains(c.Error, "snapshot missing: the repository at file://") {
		t.Fatalf("err %v, component %+v", err, c)
	}
}

func TestRestoreLatestWithoutSucceededSnapshotFails(t *testing.T) {
	f := newFixture(t, nil)
	f.snapshot("s1") // never finished
	_, err := f.runner.Restore(context.Background(), RestoreRequest{Namespace: appNS, RestoreSession: f.restoreSession("r1", "latest", encSecret), Component: "dump"})
	if c := f.restoreComponent("r1", "dump"); err == nil || !strings.Contains(c.Error, "Repository shop-repo has no Succeeded Snapshot") {
		t.Fatalf("err %v, component %+v", err, c)
	}
}

func TestCancelledRestoreIsFailedInterrupted(t *testing.T) {
	f := newFixture(t, nil)
	randomFile(t, filepath.Join(f.data, "big.bin"), 48<<20)
	f.backedUp("s1", time.Now())
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	cancelOnFirstProgress(f.cairn, "restoresessions", cancel, errors.New("terminated signal received"))
	_, err := f.runner.Restore(ctx, RestoreRequest{Namespace: appNS, RestoreSession: f.restoreSession("r1", "s1", encSecret), Component: "dump", TargetPath: t.TempDir()})
	c := f.restoreComponent("r1", "dump")
	if err == nil || c.Phase != storagev1.ComponentFailed || !strings.HasPrefix(c.Error, "interrupted (terminated signal received)") {
		t.Fatalf("err %v, component %+v", err, c)
	}
}

func TestMountPointsAreTheVolumesAndTheirParents(t *testing.T) {
	got := mountPoints("/", []string{"/var/lib/mysql", "/data"})
	for _, p := range []string{"/", "/var", "/var/lib", "/var/lib/mysql", "/data"} {
		if !got[p] {
			t.Errorf("%s is not a mount point or parent: %v", p, got)
		}
	}
	if len(got) != 5 || mountPoints("/restore", []string{"/data"})["/data"] {
		t.Fatalf("mount points %v", got)
	}
	if m := mountPoints("/restore", []string{"/data"}); !m["/restore/data"] || !m["/restore"] || !m["/"] {
		t.Fatalf("under a target: %v", m)
	}
}

// TestRestoreOfTheSnapshotTheOperatorChose: with RestoreRequest.Snapshot
// (cairn restore --snapshot) a session of "latest" restores the Snapshot
// the operator resolved, even when a newer one finished since.
func TestRestoreOfTheSnapshotTheOperatorChose(t *testing.T) {
	f := newFixture(t, nil)
	first := f.backedUp("s1", time.Unix(1700000000, 0))
	writeFiles(t, f.data, map[string]string{"orders.db": "changed after s1"})
	f.backedUp("s2", time.Unix(1700003600, 0))
	target := t.TempDir()
	res, err := f.runner.Restore(context.Background(), RestoreRequest{Namespace: appNS, RestoreSession: f.restoreSession("r1", "latest", encSecret),
		Snapshot: "s1", Component: "dump", TargetPath: target})
	if err != nil {
		t.Fatal(err)
	}
	if res.Snapshot != "s1" || res.SnapshotID != first.SnapshotID {
		t.Fatalf("restored %s (%s), want s1 (%s)", res.Snapshot, res.SnapshotID, first.SnapshotID)
	}
	if b, err := os.ReadFile(filepath.Join(target, f.data, "orders.db")); err != nil || string(b) != "order 1\norder 2\n" {
		t.Fatalf("orders.db restored as %q, %v", b, err)
	}
}
