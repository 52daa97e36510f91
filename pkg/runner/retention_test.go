package runner

import (
	"context"
	"strings"
	"testing"
)

func TestRetentionForgetsAndPrunes(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	first, err := f.runner.Backup(ctx, f.backupRequest(f.snapshot("s1"), "dump"))
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, f.data, map[string]string{"new.txt": "new"})
	second, err := f.runner.Backup(ctx, f.backupRequest(f.snapshot("s2"), "dump"))
	if err != nil {
		t.Fatal(err)
	}
	req := RetentionRequest{Namespace: appNS, Repository: repoName, Forget: []string{first.SnapshotID}}
	res, err := f.runner.Retention(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Forgotten != 1 || res.Prune == nil {
		t.Fatalf("result %+v", res)
	}
	snaps, _, err := f.engine().ListSnapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 1 || snaps[0].ID.String() != second.SnapshotID {
		t.Fatalf("engine snapshots after retention: %v, want only %s", snaps, second.SnapshotID)
	}
	// A retried run: the snapshot is already gone, which is fine.
	if res, err := f.runner.Retention(ctx, req); err != nil || res.Forgotten != 1 {
		t.Fatalf("rerun: %+v, %v", res, err)
	}
	if _, err := f.runner.Retention(ctx, RetentionRequest{Namespace: appNS, Repository: repoName, Forget: []string{"nothex"}}); err == nil || !strings.Contains(err.Error(), "does not parse") {
		t.Fatalf("bad ID: %v", err)
	}
}
