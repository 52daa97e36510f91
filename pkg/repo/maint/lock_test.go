package maint_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/repo/maint"
	"github.com/cairnbackup/cairn/pkg/repo/repotest"
)

// TestPruneRefusesWhileAnotherPrunes: issue 14 items 8 and 12. Two prunes
// at once could each delete one of a blob's two copies, trusting the other
// to stay; so a prune takes the repository's lock, and a second prune
// (another handle: another process, or another cluster sharing the
// bucket) is refused with a LockedError naming the holder, while a dry run
// still works. After the first finishes, prune runs again.
func TestPruneRefusesWhileAnotherPrunes(t *testing.T) {
	ctx := context.Background()
	r, url := repotest.Init(t)
	a, err := repotest.Backup(ctx, r, map[string][]byte{"old": randBytes(1 << 20)})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteSnapshot(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	first, err := repotest.Open(t, url).Lock(ctx, "prune job in cluster A", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	_, err = maint.Prune(ctx, repotest.Open(t, url), maint.PruneOptions{Grace: grace, Owner: "prune job in cluster B"})
	var locked *repo.LockedError
	if !errors.As(err, &locked) || locked.Owner != "prune job in cluster A" {
		t.Fatalf("prune while another holds the lock: %v, want a LockedError naming the holder", err)
	}
	if _, err := maint.Prune(ctx, repotest.Open(t, url), maint.PruneOptions{Grace: grace, DryRun: true}); err != nil {
		t.Fatalf("dry run while locked: %v", err)
	}
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if res := prune(t, repotest.Open(t, url), time.Now()); res.PacksCondemned == 0 {
		t.Fatalf("prune after the lock was released did nothing: %+v", res)
	}
	var locks []string
	repotest.Open(t, url).Backend().List(ctx, repo.LocksPrefix, func(o backend.Object) error { locks = append(locks, o.Key); return nil })
	if len(locks) != 0 {
		t.Fatalf("prune left lock objects: %v", locks)
	}
}
