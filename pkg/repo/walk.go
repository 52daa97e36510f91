package repo

import (
	"context"
	"io"

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
