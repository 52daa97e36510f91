package maint_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/repo/maint"
	"github.com/cairnbackup/cairn/pkg/repo/repotest"
)

const grace = time.Hour

func mustCheckClean(t *testing.T, r *repo.Repository) {
	t.Helper()
	res, err := maint.Check(context.Background(), r, maint.CheckOptions{ReadData: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 0 {
		t.Fatalf("check found problems: %+v", res.Problems)
	}
}

func mustRead(t *testing.T, r *repo.Repository, sn *repo.Snapshot, want map[string][]byte) {
	t.Helper()
	got, err := repotest.ReadTree(context.Background(), r, sn.Tree)
	if err != nil {
		t.Fatalf("snapshot %s: %v", sn.ID.Short(), err)
	}
	for p, w := range want {
		if string(got[p]) != string(w) {
			t.Fatalf("snapshot %s: %s differs", sn.ID.Short(), p)
		}
	}
}

// pruneAndVerify prunes at now, then checks from a fresh handle that sn
// still reads back as want and that the repository checks clean.
func pruneAndVerify(t *testing.T, url string, now time.Time, sn *repo.Snapshot, want map[string][]byte) *maint.PruneResult {
	t.Helper()
	res := prune(t, repotest.Open(t, url), now)
	after := repotest.Open(t, url)
	mustRead(t, after, sn, want)
	mustCheckClean(t, after)
	return res
}

func prune(t *testing.T, r *repo.Repository, now time.Time) *maint.PruneResult {
	t.Helper()
	res, err := maint.Prune(context.Background(), r, maint.PruneOptions{Grace: grace, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestPruneRefusesShortGrace(t *testing.T) {
	r, _ := repotest.Init(t)
	_, err := maint.Prune(context.Background(), r, maint.PruneOptions{Grace: 10 * time.Minute})
	if !errors.Is(err, maint.ErrGraceTooShort) || !strings.Contains(err.Error(), "shorter than") {
		t.Fatalf("10 min grace: %v, want a refusal", err)
	}
}

func TestPruneRemovesForgottenData(t *testing.T) {
	ctx := context.Background()
	r, url := repotest.Init(t)
	oldFiles := map[string][]byte{"old": randBytes(2 << 20)}
	newFiles := map[string][]byte{"new": randBytes(1 << 20)}
	a, err := repotest.Backup(ctx, r, oldFiles)
	if err != nil {
		t.Fatal(err)
	}
	b, err := repotest.Backup(ctx, r, newFiles)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteSnapshot(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	before := len(objectsUnder(t, url, "data/"))
	now := time.Now()
	res := prune(t, repotest.Open(t, url), now)
	if res.PacksCondemned == 0 || res.PacksDeleted != 0 || res.PlanID == "" {
		t.Fatalf("first prune should only plan: %+v", res)
	}
	if got := len(objectsUnder(t, url, "data/")); got != before {
		t.Fatalf("first prune deleted packs (%d → %d)", before, got)
	}
	// Within the grace period nothing is deleted.
	if res := prune(t, repotest.Open(t, url), now.Add(grace/2)); res.PacksDeleted != 0 || res.PlansWaiting != 1 {
		t.Fatalf("prune inside grace: %+v", res)
	}
	res = prune(t, repotest.Open(t, url), now.Add(2*grace))
	if res.PacksDeleted == 0 || res.PlansExecuted != 1 || res.BytesDeleted < 2<<20 {
		t.Fatalf("second prune should delete: %+v", res)
	}
	after := repotest.Open(t, url)
	mustRead(t, after, b, newFiles)
	mustCheckClean(t, after)
	if plans, _ := after.ListPlans(ctx); len(plans) != 0 {
		t.Fatalf("executed plan left behind: %d", len(plans))
	}
}

// A backup that began before the prune planned dedups against a blob the
// plan condemns. Saving its snapshot copies the blob out of harm's way, so
// deleting the condemned pack afterwards loses nothing.
func TestPruneRacingBackupIsRescued(t *testing.T) {
	ctx := context.Background()
	r, url := repotest.Init(t)
	shared := map[string][]byte{"shared": randBytes(1 << 20)}
	a, err := repotest.Backup(ctx, r, shared)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteSnapshot(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	backup := repotest.Open(t, url) // the backup starts: shared data looks stored
	ref, err := repotest.WriteTree(ctx, backup, shared)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if res := prune(t, repotest.Open(t, url), now); res.PacksCondemned == 0 {
		t.Fatalf("prune did not condemn the forgotten packs: %+v", res)
	}
	sn := &repo.Snapshot{Time: time.Now(), Hostname: "h", Paths: []string{"/"}, Tree: ref}
	if _, err := backup.SaveSnapshot(ctx, sn); err != nil {
		t.Fatal(err)
	}
	res := pruneAndVerify(t, url, now.Add(2*grace), sn, shared)
	if res.PacksDeleted == 0 {
		t.Fatalf("condemned packs were not deleted after rescue: %+v", res)
	}
}

// A snapshot that references condemned packs directly (saved in the window
// after the backup last looked for plans) keeps those packs alive: the
// deletion phase re-checks references.
func TestPruneKeepsPacksReferencedAfterPlan(t *testing.T) {
	ctx := context.Background()
	r, url := repotest.Init(t)
	files := map[string][]byte{"f": randBytes(1 << 20)}
	a, err := repotest.Backup(ctx, r, files)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteSnapshot(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	prune(t, repotest.Open(t, url), now)
	// A backup that has seen the plan and runs briefly takes the fast path:
	// protect finds nothing new and does not walk.
	be, err := backend.Open(ctx, url, backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts := repotest.Options
	opts.VerifyAfter = repo.MaxVerifyAfter
	late, err := repo.Open(ctx, be, repotest.Password, opts)
	if err != nil {
		t.Fatal(err)
	}
	sn := &repo.Snapshot{Time: time.Now(), Hostname: "h", Paths: []string{"/"}, Tree: a.Tree}
	if _, err := late.SaveSnapshot(ctx, sn); err != nil {
		t.Fatal(err)
	}
	res := pruneAndVerify(t, url, now.Add(2*grace), sn, files)
	if res.PacksRescued == 0 {
		t.Fatalf("referenced condemned packs were not kept: %+v", res)
	}
}

// A backup killed after uploading packs but before writing its index leaves
// unindexed packs; prune plans them once they are older than the grace
// period and deletes them after another.
func TestPruneRemovesKilledBackupLeftovers(t *testing.T) {
	ctx := context.Background()
	_, url := repotest.Init(t)
	killed := repotest.Open(t, url)
	for i := 0; i < 40; i++ { // ~2.5 packs of 1 MiB: two get uploaded
		data := randBytes(64 << 10)
		if _, err := killed.SaveBlob(ctx, repo.DataBlob, killed.Hash(data), data); err != nil {
			t.Fatal(err)
		}
	}
	killed.Close() // no Flush: no index, no snapshot
	// A process killed while streaming a pack leaves its temporary file.
	tmp := filepath.Join(repoDir(url), "data", "ab", "ab00.1234.tmp")
	os.MkdirAll(filepath.Dir(tmp), 0o700)
	os.WriteFile(tmp, []byte("partial pack"), 0o600)
	old := time.Now().Add(-3 * grace)
	os.Chtimes(tmp, old, old)
	leftovers := len(objectsUnder(t, url, "data/")) - 1
	if leftovers == 0 {
		t.Fatal("expected uploaded packs")
	}
	now := time.Now()
	res := prune(t, repotest.Open(t, url), now)
	if res.PacksCondemned != 0 {
		t.Fatalf("young unindexed packs must not be condemned (a backup may be running): %+v", res)
	}
	if res.TempFilesDeleted != 1 {
		t.Fatalf("stale temporary pack file not removed: %+v", res)
	}
	if res := prune(t, repotest.Open(t, url), now.Add(2*grace)); res.PacksCondemned != leftovers {
		t.Fatalf("old leftovers not condemned: %+v (want %d)", res, leftovers)
	}
	prune(t, repotest.Open(t, url), now.Add(4*grace))
	if got := objectsUnder(t, url, "data/"); len(got) != 0 {
		t.Fatalf("leftover packs remain: %v", got)
	}
}

// Backups, forgets and prunes run at the same time with a tiny grace period
// on the real clock. Backups may fail only with the documented "ran longer
// than the grace period" error; every snapshot that exists at the end must
// be complete and the repository must check clean.
func TestPruneStressWithConcurrentBackups(t *testing.T) {
	ctx := context.Background()
	_, url := repotest.Init(t)
	pool := make([][]byte, 12)
	for i := range pool {
		pool[i] = randBytes(96 << 10)
	}
	var (
		mu       sync.Mutex
		expected = map[repo.ID]map[string][]byte{}
		done     = make(chan struct{})
		wg       sync.WaitGroup
	)
	const graceReal = 300 * time.Millisecond
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 8; i++ {
				h := repotest.Open(t, url)
				files := map[string][]byte{fmt.Sprintf("own-%d-%d", w, i): randBytes(64 << 10)}
				for k := 0; k < 4; k++ {
					j := rand.IntN(len(pool))
					files[fmt.Sprintf("pool/%d", j)] = pool[j]
				}
				sn, err := repotest.Backup(ctx, h, files)
				if err != nil {
					if !strings.Contains(err.Error(), "grace period") {
						t.Errorf("backup: %v", err)
					}
					continue
				}
				mu.Lock()
				expected[sn.ID] = files
				mu.Unlock()
				if _, _, err := maint.Forget(ctx, h, maint.Policy{Last: 2}, maint.GroupKey{}, time.Now(), false); err != nil {
					t.Errorf("forget: %v", err)
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		if _, err := maint.Prune(ctx, repotest.Open(t, url), maint.PruneOptions{Grace: graceReal, AllowShortGrace: true}); err != nil {
			t.Errorf("prune: %v", err)
			<-done
			return
		}
	}
	time.Sleep(2 * graceReal)
	for i := 0; i < 3; i++ {
		time.Sleep(2 * graceReal)
		if _, err := maint.Prune(ctx, repotest.Open(t, url), maint.PruneOptions{Grace: graceReal, AllowShortGrace: true}); err != nil {
			t.Fatal(err)
		}
	}
	final := repotest.Open(t, url)
	snaps, _, err := final.ListSnapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) == 0 {
		t.Fatal("no snapshots survived")
	}
	for _, sn := range snaps {
		mustRead(t, final, sn, expected[sn.ID])
	}
	mustCheckClean(t, final)
}

// A pack that is partly referenced after a forget is repacked: its live
// blobs move to a new pack and the old pack is deleted after the grace
// period, so the space of the forgotten data is returned.
func TestPruneRepacksPartlyUsedPacks(t *testing.T) {
	ctx := context.Background()
	r, url := repotest.Init(t)
	keep := randBytes(400 << 10)
	drop := randBytes(400 << 10)
	a, err := repotest.Backup(ctx, r, map[string][]byte{"keep": keep, "drop": drop})
	if err != nil {
		t.Fatal(err)
	}
	b, err := repotest.Backup(ctx, r, map[string][]byte{"keep": keep})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteSnapshot(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	st0, _ := maint.ComputeStats(ctx, repotest.Open(t, url))
	now := time.Now()
	res := prune(t, repotest.Open(t, url), now)
	if res.PacksRepacked == 0 || res.BytesRepacked < 400<<10 {
		t.Fatalf("partly used pack not repacked: %+v", res)
	}
	mustRead(t, repotest.Open(t, url), b, map[string][]byte{"keep": keep})
	prune(t, repotest.Open(t, url), now.Add(2*grace))
	after := repotest.Open(t, url)
	mustRead(t, after, b, map[string][]byte{"keep": keep})
	mustCheckClean(t, after)
	st1, _ := maint.ComputeStats(ctx, after)
	if st1.StoredBytes > st0.StoredBytes-350<<10 {
		t.Fatalf("stored bytes %d → %d: forgotten data not reclaimed", st0.StoredBytes, st1.StoredBytes)
	}
}

// TestPruneRewritesOnlyTheIndexFilesItTouches: issue 14 item 9. Deleting a
// forgotten backup's packs replaces the index files that describe them and
// leaves every other index file as it was, so a prune's index work does not
// grow with the repository.
func TestPruneRewritesOnlyTheIndexFilesItTouches(t *testing.T) {
	ctx := context.Background()
	r, url := repotest.Init(t)
	files := map[string]map[string][]byte{}
	snaps := map[string]*repo.Snapshot{}
	indexOf := map[string][]repo.ID{}
	seen := map[repo.ID]bool{}
	for _, name := range []string{"a", "b", "c"} {
		files[name] = map[string][]byte{name: randBytes(1 << 20)}
		sn, err := repotest.Backup(ctx, r, files[name])
		if err != nil {
			t.Fatal(err)
		}
		snaps[name] = sn
		ids, err := r.ListIDs(ctx, repo.IndexPrefix)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				indexOf[name] = append(indexOf[name], id)
			}
		}
	}
	if err := r.DeleteSnapshot(ctx, snaps["b"].ID); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	prune(t, repotest.Open(t, url), now)
	res := prune(t, repotest.Open(t, url), now.Add(2*grace))
	if res.PacksDeleted == 0 || res.IndexReplaced != len(indexOf["b"]) {
		t.Fatalf("prune deleted %d packs and replaced %d index files, want b's %d: %+v", res.PacksDeleted, res.IndexReplaced, len(indexOf["b"]), res)
	}
	after, err := r.ListIDs(ctx, repo.IndexPrefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "c"} {
		for _, id := range indexOf[name] {
			if !slices.Contains(after, id) {
				t.Fatalf("index file %s of the untouched backup %s was rewritten", id.Short(), name)
			}
		}
	}
	h := repotest.Open(t, url)
	mustRead(t, h, snaps["a"], files["a"])
	mustRead(t, h, snaps["c"], files["c"])
	mustCheckClean(t, h)
}
