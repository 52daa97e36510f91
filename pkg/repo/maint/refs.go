package maint

import (
	"context"
	"fmt"

	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/index"
)

// refSet is the set of blobs reachable from snapshots, by type.
type refSet [3]map[repo.ID]struct{}

func (s *refSet) has(t repo.BlobType, id repo.ID) bool {
	_, ok := s[t][id]
	return ok
}

// references walks every readable snapshot and returns the blobs they
// reach, and the snapshots that could not be read (prune refuses to run
// while there are any; stats counts what it can). Any other error (missing
// or corrupt tree) aborts: prune must never act on an incomplete picture.
// Snapshots are listed before the index is reloaded:
// a backup writes its index files before its snapshot, so every listed
// snapshot's blobs are then in the index.
func references(ctx context.Context, r *repo.Repository) (*refSet, []*repo.Snapshot, []*repo.DamagedSnapshot, error) {
	snaps, damaged, err := r.ListSnapshots(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := r.LoadIndex(ctx); err != nil {
		return nil, nil, nil, err
	}
	if errs := r.IndexErrors(); len(errs) > 0 {
		return nil, nil, nil, fmt.Errorf("%w: %w", ErrIndexUnreadable, errs[0])
	}
	refs := &refSet{}
	for i := range refs {
		refs[i] = map[repo.ID]struct{}{}
	}
	seen := map[repo.ID]struct{}{}
	for _, sn := range snaps {
		err := r.Walk(ctx, sn.Tree, seen, func(t repo.BlobType, id repo.ID) error {
			refs[t][id] = struct{}{}
			return nil
		})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("snapshot %s: %w", sn.ID.Short(), err)
		}
	}
	return refs, snaps, damaged, nil
}

// blobRef is one blob copy in a pack.
type blobRef struct {
	t   repo.BlobType
	id  repo.ID
	loc index.Location
}

// packContents groups the in-memory index by pack.
func packContents(r *repo.Repository) map[repo.ID][]blobRef {
	out := map[repo.ID][]blobRef{}
	r.Index().Each(func(t repo.BlobType, id repo.ID, loc index.Location) {
		out[loc.Pack] = append(out[loc.Pack], blobRef{t, id, loc})
	})
	return out
}
