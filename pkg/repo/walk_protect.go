package repo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

// protect runs before a snapshot is saved and makes sure the snapshot does
// not depend on data a concurrent prune deletes.
//
// A prune deletes a pack only when the plan that condemned it is older than
// the prune's grace period. A plan that existed when this handle opened
// already kept new blobs out of its packs (see Has). So a backup shorter
// than the grace period needs only to rescue blobs from plans that appeared
// while it ran: those plans cannot have been carried out yet. A backup that
// ran longer than Options.VerifyAfter, or that notices a plan was carried
// out meanwhile, verifies every pack its snapshot relies on still exists;
// if one is gone the backup fails with a clear error and can be rerun.
// A plan written after this check is handled by prune itself: it keeps
// condemned packs that a snapshot saved in the meantime references.
func (r *Repository) protect(ctx context.Context, root ID) error {
	fresh, err := r.RefreshPlans(ctx)
	if err != nil {
		return err
	}
	vanished, err := r.plansVanished(ctx)
	if err != nil {
		return err
	}
	if len(fresh) == 0 && !vanished && time.Since(r.opened) < r.opts.VerifyAfter {
		return nil
	}
	// A prune that repacked blobs indexed their new copies before writing
	// its plan: load those so the walk finds them instead of copying again.
	if err := r.LoadIndex(ctx); err != nil {
		return err
	}
	for round := 0; ; round++ {
		rescued, relied, err := r.rescue(ctx, root)
		if err != nil {
			return err
		}
		if rescued > 0 {
			if err := r.Flush(ctx); err != nil {
				return err
			}
		}
		for pack := range relied {
			if _, err := r.be.Size(ctx, PackKey(pack)); err != nil {
				if errors.Is(err, backend.ErrNotFound) {
					return prunedError(fmt.Errorf("pack %s", PackKey(pack)))
				}
				return err
			}
		}
		fresh, err := r.RefreshPlans(ctx)
		if err != nil || len(fresh) == 0 || round == 2 {
			return err
		}
	}
}

// prunedError reports what a concurrent prune deleted as ErrConcurrentPrune.
func prunedError(what error) error {
	return fmt.Errorf("%w (the backup ran longer than the prune grace period): %w", ErrConcurrentPrune, what)
}

// rescue copies every blob reachable from root that is only stored in
// condemned packs into new packs, and returns the packs the snapshot relies
// on for the others.
func (r *Repository) rescue(ctx context.Context, root ID) (int, map[ID]bool, error) {
	rescued := 0
	relied := map[ID]bool{}
	err := r.Walk(ctx, root, map[ID]struct{}{}, func(t BlobType, id ID) error {
		if loc, ok := r.idx.Lookup(t, id); ok {
			relied[loc.Pack] = true
			return nil
		}
		if r.packers[t].pendingHas(id) {
			return nil // rescued earlier in this walk
		}
		data, err := r.LoadBlob(ctx, t, id)
		if errors.Is(err, ErrBlobNotFound) || errors.Is(err, backend.ErrNotFound) {
			return prunedError(fmt.Errorf("%s blob %s: %w", t, id, err))
		}
		if err != nil {
			return err
		}
		if _, err := r.SaveBlob(ctx, t, id, data); err != nil {
			return err
		}
		rescued++
		return nil
	})
	if errors.Is(err, backend.ErrNotFound) && !errors.Is(err, ErrBlobNotFound) {
		err = prunedError(err)
	}
	return rescued, relied, err
}
