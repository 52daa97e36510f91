package maint

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/repo/index"
	"github.com/cairnbackup/cairn/pkg/repo/pack"
)

// DefaultGrace is how long a prune plan waits before its packs are deleted.
// A backup running longer than this while a prune marks and deletes can
// fail (with a clear error, never silently); it cannot lose data.
const DefaultGrace = 24 * time.Hour

// MinGrace is the shortest grace period Prune accepts without
// AllowShortGrace: repo.MinPruneGrace, which the repository keeps above
// every backup's VerifyAfter (a plan made and carried out within a backup
// too short to verify its packs would go unnoticed).
const MinGrace = repo.MinPruneGrace

// DefaultRepackUnused repacks packs that are at least 30% unreferenced.
const DefaultRepackUnused = 0.3

// PruneOptions tune Prune.
type PruneOptions struct {
	// Grace is the minimum age of a plan before its packs are deleted, and of
	// an unindexed pack before it is considered left over (default DefaultGrace).
	Grace time.Duration
	// Now is the current time (tests); zero means the store's clock
	// (repo.StoreTime): every age prune judges is then measured against
	// times the store itself recorded, whatever this machine's clock says.
	Now time.Time
	// DryRun computes everything and changes nothing.
	DryRun bool
	// RepackUnused: a pack whose unreferenced share of bytes is at least
	// this is repacked (its live blobs copied, the pack condemned). Zero
	// means DefaultRepackUnused; a negative value disables repacking.
	RepackUnused float64

	// AllowShortGrace accepts a grace period below MinGrace: for tests, or
	// when no backup can run at the same time as the prune.
	AllowShortGrace bool

	// Owner names this run in the repository's lock, for whoever finds
	// the repository locked (default: "prune"). LockTTL is the lock's
	// lifetime without refresh (default repo.DefaultLockTTL).
	Owner   string
	LockTTL time.Duration
}

// PruneResult reports what Prune did (or, for a dry run, would do).
type PruneResult struct {
	PlansExecuted  int   `json:"plans_executed"`
	PlansWaiting   int   `json:"plans_waiting"`
	PacksDeleted   int   `json:"packs_deleted"`
	BytesDeleted   int64 `json:"bytes_deleted"`
	PacksRescued   int   `json:"packs_kept_referenced"` // condemned, referenced again, kept
	IndexRewritten int   `json:"index_files_rewritten"`
	// IndexReplaced counts the index files that described a deleted pack
	// and were replaced by the IndexRewritten new ones.
	IndexReplaced  int    `json:"index_files_replaced"`
	PlanID         string `json:"new_plan,omitempty"`
	PacksCondemned int    `json:"packs_condemned"`
	BytesCondemned int64  `json:"bytes_condemned"`
	// UnusedInUsedPacks is unreferenced data left in packs that also hold
	// referenced data (below the repack threshold).
	UnusedInUsedPacks int64 `json:"unused_bytes_in_used_packs"`
	// PacksRepacked had their referenced blobs copied to new packs and were
	// then condemned; BytesRepacked is the plaintext copied.
	PacksRepacked int `json:"packs_repacked"`
	// TempFilesDeleted counts partial pack files of killed processes.
	TempFilesDeleted int   `json:"temp_files_deleted"`
	BytesRepacked    int64 `json:"bytes_repacked"`
}

// Prune removes data no snapshot references, in two phases and without
// locks. Phase two runs first: plans older than the grace period are carried
// out, deleting their packs only if no snapshot references them now (a
// snapshot saved after the plan may have). Phase one then marks packs that
// hold no referenced blob, plus unindexed packs older than the grace period
// (left by killed backups), in a new plan. Until that plan is carried out by
// a later prune, every repository handle treats its packs as gone.
func Prune(ctx context.Context, r *repo.Repository, opts PruneOptions) (*PruneResult, error) {
	if opts.Grace <= 0 {
		opts.Grace = DefaultGrace
	}
	if opts.Grace < MinGrace && !opts.AllowShortGrace {
		return nil, fmt.Errorf("prune: %w: %s is shorter than %s, so a backup running meanwhile could save a snapshot that refers to deleted data", ErrGraceTooShort, opts.Grace, MinGrace)
	}
	if opts.RepackUnused == 0 {
		opts.RepackUnused = DefaultRepackUnused
	}
	if opts.Now.IsZero() {
		// Taken before snapshots are listed: a plan is only carried out
		// if it was past its grace period when the listing began.
		now, err := r.StoreTime(ctx)
		if err != nil {
			return nil, fmt.Errorf("prune: %w", err)
		}
		opts.Now = now
	}
	if errs := r.IndexErrors(); len(errs) > 0 {
		return nil, fmt.Errorf("prune: %w: %d index file(s) could not be read (first: %w)", ErrIndexUnreadable, len(errs), errs[0])
	}
	// Two prunes at once could each delete one of a blob's two copies,
	// trusting the other to remain: only one prune runs at a time, in
	// this cluster or any other sharing the bucket. A dry run changes
	// nothing and needs no lock.
	check := func() error { return nil }
	if !opts.DryRun {
		owner := opts.Owner
		if owner == "" {
			owner = "prune"
		}
		lock, err := r.Lock(ctx, owner, opts.LockTTL)
		if err != nil {
			return nil, fmt.Errorf("prune: %w", err)
		}
		defer lock.Release(context.WithoutCancel(ctx))
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-lock.Lost():
				cancel()
			case <-ctx.Done():
			}
		}()
		check = lock.Check
	}
	if _, err := r.RefreshPlans(ctx); err != nil {
		return nil, err
	}
	plans, err := r.ListPlans(ctx)
	if err != nil {
		return nil, err
	}
	refs, _, damaged, err := references(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	if len(damaged) > 0 {
		// Whatever a damaged snapshot references is unknown: deleting
		// data now could destroy what a repair would recover. Forgetting
		// the snapshot (by ID) lets prune run again.
		return nil, &DamagedSnapshotsError{Snapshots: damaged}
	}
	stored := map[repo.ID]backend.Object{}
	if err := r.ListPacks(ctx, func(id repo.ID, o backend.Object) error { stored[id] = o; return nil }); err != nil {
		return nil, err
	}
	res := &PruneResult{}
	var due []*repo.Plan
	planned := map[repo.ID]bool{}
	for _, p := range plans {
		if opts.Now.Sub(p.Created) >= opts.Grace {
			due = append(due, p)
		} else {
			res.PlansWaiting++
			for _, id := range p.Packs {
				planned[id] = true
			}
		}
	}
	contents := packContents(r)
	if err := check(); err != nil {
		return res, err
	}
	if err := execute(ctx, r, due, refs, stored, contents, opts.DryRun, check, res); err != nil {
		return res, err
	}
	if err := check(); err != nil {
		return res, err
	}
	if err := mark(ctx, r, refs, stored, contents, planned, opts, res); err != nil {
		return res, err
	}
	if err := check(); err != nil {
		return res, err
	}
	stale, err := r.ListStaleTemporary(ctx, opts.Now.Add(-opts.Grace))
	if err != nil {
		return res, err
	}
	for _, name := range stale {
		if !opts.DryRun {
			if err := r.DeleteObject(ctx, name); err != nil {
				return res, err
			}
		}
		res.TempFilesDeleted++
	}
	return res, nil
}

// Errors Prune refuses with; callers test them with errors.Is.
var (
	// ErrGraceTooShort means the grace period is below MinGrace and
	// AllowShortGrace is not set.
	ErrGraceTooShort = errors.New("grace period too short")
	// ErrIndexUnreadable means index files could not be read: prune would
	// take their packs for unreferenced.
	ErrIndexUnreadable = errors.New("index unreadable")
)

// DamagedSnapshotsError is Prune's refusal to run while snapshot objects
// cannot be read. It matches repo.ErrCorrupt with errors.Is.
type DamagedSnapshotsError struct {
	Snapshots []*repo.DamagedSnapshot
}

// Error names every damaged snapshot object.
func (e *DamagedSnapshotsError) Error() string {
	names := make([]string, len(e.Snapshots))
	for i, d := range e.Snapshots {
		names[i] = repo.SnapshotsPrefix + d.ID.String()
	}
	return fmt.Sprintf("prune: %d snapshot object(s) cannot be read, so what they reference is unknown: %s", len(names), strings.Join(names, ", "))
}

// Unwrap returns the snapshots' own errors, so errors.Is(err,
// repo.ErrCorrupt) holds and errors.As finds a *repo.DamagedSnapshot.
func (e *DamagedSnapshotsError) Unwrap() []error {
	out := make([]error, len(e.Snapshots))
	for i, d := range e.Snapshots {
		out[i] = d
	}
	return out
}

// execute carries out due plans.
func execute(ctx context.Context, r *repo.Repository, due []*repo.Plan, refs *refSet,
	stored map[repo.ID]backend.Object, contents map[repo.ID][]blobRef, dryRun bool, check func() error, res *PruneResult) error {
	if len(due) == 0 {
		return nil
	}
	doomed := map[repo.ID]bool{}
	for _, p := range due {
		for _, id := range p.Packs {
			if _, ok := stored[id]; ok {
				doomed[id] = true
			}
		}
	}
	// Keep a doomed pack if it holds a referenced blob with no copy outside
	// the doomed set.
	for id := range doomed {
		blobs := contents[id]
		if blobs == nil {
			entries, err := r.PackEntries(ctx, id, stored[id].Size)
			if err != nil && !errors.Is(err, repo.ErrCorrupt) {
				return err
			}
			for _, e := range entries {
				blobs = append(blobs, blobRef{t: e.Type, id: e.ID})
			}
		}
		for _, b := range blobs {
			if refs.has(b.t, b.id) && !copyOutside(r, b, doomed) {
				delete(doomed, id)
				res.PacksRescued++
				break
			}
		}
	}
	res.PlansExecuted = len(due)
	if dryRun {
		for id := range doomed {
			res.PacksDeleted++
			res.BytesDeleted += stored[id].Size
		}
		return nil
	}
	if err := rewriteIndex(ctx, r, contents, doomed, res); err != nil {
		return err
	}
	if err := check(); err != nil {
		return err
	}
	for id := range doomed {
		if err := r.DeleteObject(ctx, repo.PackKey(id)); err != nil {
			return err
		}
		res.PacksDeleted++
		res.BytesDeleted += stored[id].Size
		delete(stored, id)
		delete(contents, id)
	}
	for _, p := range due {
		if err := r.DeletePlan(ctx, p.ID); err != nil {
			return err
		}
	}
	return nil
}

// copyOutside reports whether a blob has a copy in a pack this run does
// not delete. It trusts that copy to stay, which holds because no other
// prune runs meanwhile (the repository lock, see Prune), and backups never
// delete.
func copyOutside(r *repo.Repository, b blobRef, doomed map[repo.ID]bool) bool {
	for _, loc := range r.Index().LookupAll(b.t, b.id) {
		if !doomed[loc.Pack] {
			return true
		}
	}
	return false
}

// rewriteIndex replaces the index files that describe a doomed pack with
// files describing only their other packs, and leaves every other index
// file alone, so a prune's index work follows what it deletes, not the
// size of the repository. New files go first, then the files they replace
// are deleted: a crash in between leaves duplicate entries, which are
// harmless.
func rewriteIndex(ctx context.Context, r *repo.Repository, contents map[repo.ID][]blobRef, doomed map[repo.ID]bool, res *PruneResult) error {
	files := r.IndexFilePacks()
	var replaced []repo.ID
	keep := map[repo.ID]bool{}
	for file, packs := range files {
		if !slices.ContainsFunc(packs, func(p repo.ID) bool { return doomed[p] }) {
			continue
		}
		replaced = append(replaced, file)
		for _, p := range packs {
			if !doomed[p] && contents[p] != nil {
				keep[p] = true
			}
		}
	}
	if len(replaced) == 0 {
		return nil
	}
	packIDs := make([]repo.ID, 0, len(keep))
	for id := range keep {
		packIDs = append(packIDs, id)
	}
	sort.Slice(packIDs, func(i, j int) bool { return packIDs[i].String() < packIDs[j].String() })
	var batch []index.PackBlobs
	n := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := r.SaveIndexFile(ctx, batch); err != nil {
			return err
		}
		res.IndexRewritten++
		batch, n = nil, 0
		return nil
	}
	for _, id := range packIDs {
		pb := index.PackBlobs{Pack: id}
		for _, b := range contents[id] {
			pb.Blobs = append(pb.Blobs, pack.Entry{Type: b.t, ID: b.id, Offset: b.loc.Offset,
				Length: b.loc.Length, RawLength: b.loc.RawLength, Compressed: b.loc.Compressed})
		}
		sort.Slice(pb.Blobs, func(i, j int) bool { return pb.Blobs[i].Offset < pb.Blobs[j].Offset })
		batch = append(batch, pb)
		if n += len(pb.Blobs); n >= 100000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	for _, id := range replaced {
		if err := r.DeleteObject(ctx, repo.IndexPrefix+id.String()); err != nil {
			return err
		}
		r.ForgetIndexFile(id)
	}
	res.IndexReplaced = len(replaced)
	return nil
}

// mark writes a plan condemning unreferenced packs.
func mark(ctx context.Context, r *repo.Repository, refs *refSet, stored map[repo.ID]backend.Object,
	contents map[repo.ID][]blobRef, planned map[repo.ID]bool, opts PruneOptions, res *PruneResult) error {
	var condemned, repack []repo.ID
	for id, obj := range stored {
		if planned[id] {
			continue
		}
		blobs, indexed := contents[id]
		if !indexed {
			// Unindexed: a killed backup's leftover, or a running backup's
			// pack whose index is not written yet. Only the old ones go.
			if !obj.ModTime.IsZero() && opts.Now.Sub(obj.ModTime) >= opts.Grace {
				condemned = append(condemned, id)
				res.BytesCondemned += obj.Size
			}
			continue
		}
		used, unused := false, int64(0)
		for _, b := range blobs {
			if refs.has(b.t, b.id) {
				used = true
			} else {
				unused += int64(b.loc.Length)
			}
		}
		if used && (opts.RepackUnused < 0 || float64(unused) < opts.RepackUnused*float64(obj.Size)) {
			res.UnusedInUsedPacks += unused
			continue
		}
		if used {
			repack = append(repack, id)
		}
		condemned = append(condemned, id)
		res.BytesCondemned += obj.Size
	}
	res.PacksCondemned = len(condemned)
	res.PacksRepacked = len(repack)
	if len(condemned) == 0 || opts.DryRun {
		return nil
	}
	if err := repackLive(ctx, r, refs, contents, repack, res); err != nil {
		return err
	}
	host, _ := os.Hostname()
	p := &repo.Plan{Created: opts.Now.UTC(), Packs: condemned, Hostname: host}
	id, err := r.SavePlan(ctx, p)
	if err != nil {
		return err
	}
	res.PlanID = id.String()
	return nil
}

// repackLive copies the referenced blobs of packs about to be condemned into
// new packs and flushes their index, so that the plan written afterwards
// condemns only copies that are no longer needed. The packs are hidden from
// this handle first so SaveBlob does not dedup against them.
func repackLive(ctx context.Context, r *repo.Repository, refs *refSet, contents map[repo.ID][]blobRef, packs []repo.ID, res *PruneResult) error {
	if len(packs) == 0 {
		return nil
	}
	r.Index().Exclude(packs)
	for _, id := range packs {
		for _, b := range contents[id] {
			if !refs.has(b.t, b.id) || r.Has(b.t, b.id) {
				continue
			}
			data, err := r.LoadBlob(ctx, b.t, b.id)
			if err != nil {
				return fmt.Errorf("repack %s: %w", repo.PackKey(id), err)
			}
			if _, err := r.SaveBlob(ctx, b.t, b.id, data); err != nil {
				return fmt.Errorf("repack %s: %w", repo.PackKey(id), err)
			}
			res.BytesRepacked += int64(len(data))
		}
	}
	return r.Flush(ctx)
}
