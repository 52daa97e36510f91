package maint_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/maint"
	"github.com/cairnbackup/cairn/pkg/repo/repotest"
)

// TestDamagedSnapshotIsReportedAndSkipped: one snapshot object that no
// longer decrypts must not block everything (issue 14 item 3). Listing and
// "latest" skip it and name it, forget by policy leaves it alone, check
// reports it, prune refuses naming it, and deleting it by ID (forget <id>)
// makes prune work again.
func TestDamagedSnapshotIsReportedAndSkipped(t *testing.T) {
	ctx := context.Background()
	r, url := repotest.Init(t)
	var snaps []*repo.Snapshot
	for i := range 3 {
		sn, err := repotest.Backup(ctx, r, map[string][]byte{"f": randBytes(1000 + i)})
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, sn)
	}
	bad := snaps[1]
	flipByte(t, url, repo.SnapshotsPrefix+bad.ID.String(), 40)

	h := repotest.Open(t, url)
	list, damaged, err := h.ListSnapshots(ctx)
	if err != nil {
		t.Fatalf("one damaged snapshot failed the listing: %v", err)
	}
	if len(list) != 2 || len(damaged) != 1 || damaged[0].ID != bad.ID || !errors.Is(damaged[0], repo.ErrCorrupt) {
		t.Fatalf("listed %d, damaged %v; want 2 listed and %s reported as corrupt", len(list), damaged, bad.ID.Short())
	}
	if latest, err := h.FindSnapshot(ctx, "latest"); err != nil || latest != snaps[2].ID {
		t.Fatalf("latest = %v, %v; want %s", latest, err, snaps[2].ID.Short())
	}

	res, err := maint.Check(ctx, h, maint.CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := problemsFor(res, repo.SnapshotsPrefix+bad.ID.String()); len(got) != 1 {
		t.Fatalf("check problems for the damaged snapshot: %+v (all: %+v)", got, res.Problems)
	}

	groups, skipped, err := maint.Forget(ctx, h, maint.Policy{Last: 1}, maint.GroupKey{}, time.Now(), true)
	if err != nil || len(skipped) != 1 || skipped[0].ID != bad.ID || len(groups) != 1 || len(groups[0].Decisions) != 2 {
		t.Fatalf("forget by policy: groups %+v, skipped %v, err %v", groups, skipped, err)
	}

	_, err = maint.Prune(ctx, h, maint.PruneOptions{Grace: grace})
	var refusal *maint.DamagedSnapshotsError
	var one *repo.DamagedSnapshot
	if !errors.As(err, &refusal) || !errors.As(err, &one) || one.ID != bad.ID || !errors.Is(err, repo.ErrCorrupt) {
		t.Fatalf("prune with a damaged snapshot: %v; want a DamagedSnapshotsError naming %s", err, bad.ID.Short())
	}

	id, err := h.FindSnapshot(ctx, bad.ID.String()[:10])
	if err != nil || id != bad.ID {
		t.Fatalf("finding the damaged snapshot by ID: %v, %v", id, err)
	}
	if err := h.DeleteSnapshot(ctx, id); err != nil {
		t.Fatal(err)
	}
	prune(t, repotest.Open(t, url), time.Now())
	mustCheckClean(t, repotest.Open(t, url))
}
