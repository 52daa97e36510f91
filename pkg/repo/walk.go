package repo

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/repo/tree"
)

// Walk calls fn for every blob reachable from the directory root: each tree
// blob once per walk of its directory, and each data chunk of each file.
// Directories whose reference is already in seen are skipped with their
// whole subtree (equal reference, equal content); pass the same seen map to
// walk many snapshots sharing most of their trees. fn may be called more
// than once for a data blob.
func (r *Repository) Walk(ctx context.Context, root ID, seen map[ID]struct{}, fn func(t BlobType, id ID) error) error {
	stack := []ID{root}
	var cbErr error
	for len(stack) > 0 {
		dir := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, ok := seen[dir]; ok {
			continue
		}
		seen[dir] = struct{}{}
		rd := tree.NewReader(r, dir)
		rd.OnBlob = func(id ID) {
			if cbErr == nil {
				cbErr = fn(TreeBlob, id)
			}
		}
		for {
			n, err := rd.Next(ctx)
			if cbErr != nil {
				return cbErr
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			switch n.Type {
			case tree.Dir:
				stack = append(stack, n.Subtree)
			case tree.File:
				for _, c := range n.Content {
					if err := fn(DataBlob, c); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// protect makes sure no blob reachable from root lives only in packs that a
// prune plan has condemned. Plans this handle saw when it opened already
// kept new blobs out of such packs, so only plans that appeared during the
// backup need a walk; blobs found in their packs are copied to new packs.
func (r *Repository) protect(ctx context.Context, root ID) error {
	for round := 0; round < 3; round++ {
		fresh, err := r.RefreshPlans(ctx)
		if err != nil || len(fresh) == 0 {
			return err
		}
		rescued := 0
		err = r.Walk(ctx, root, map[ID]struct{}{}, func(t BlobType, id ID) error {
			if r.idx.Has(t, id) {
				return nil
			}
			data, err := r.LoadBlob(ctx, t, id)
			if errors.Is(err, ErrBlobNotFound) || errors.Is(err, backend.ErrNotFound) {
				return fmt.Errorf("%s blob %s used by this backup was deleted by a concurrent prune "+
					"(the backup ran longer than the prune grace period); run the backup again: %w", t, id, err)
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
		if err != nil {
			return err
		}
		if rescued > 0 {
			if err := r.Flush(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}
