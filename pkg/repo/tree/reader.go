package tree

import (
	"context"
	"fmt"
	"io"

	"github.com/cairnbackup/cairn/pkg/repo/ident"
)

// Loader fetches tree blobs; *repo.Repository implements it.
type Loader interface {
	LoadBlob(ctx context.Context, t ident.BlobType, id ident.ID) ([]byte, error)
}

// Reader iterates a directory's nodes in name order, holding one page per
// index level in memory.
type Reader struct {
	l     Loader
	root  ident.ID
	stack []*frame
	last  string
	seen  bool
	err   error
	// OnBlob, if set, is called with the ID of every tree blob the reader
	// loads (pages and index blobs); check and prune use it.
	OnBlob func(ident.ID)
}

type frame struct {
	blob *Blob
	pos  int
}

// NewReader starts reading the directory referenced by ref.
func NewReader(l Loader, ref ident.ID) *Reader {
	return &Reader{l: l, root: ref}
}

func (r *Reader) push(ctx context.Context, id ident.ID) error {
	if len(r.stack) >= maxDepth {
		return fmt.Errorf("tree %s: more than %d index levels (corrupt or cyclic tree)", id, maxDepth)
	}
	data, err := r.l.LoadBlob(ctx, ident.TreeBlob, id)
	if err != nil {
		return err
	}
	if r.OnBlob != nil {
		r.OnBlob(id)
	}
	b, err := DecodeBlob(data)
	if err != nil {
		return fmt.Errorf("tree blob %s: %w", id, err)
	}
	r.stack = append(r.stack, &frame{blob: b})
	return nil
}

// Next returns the next node, or io.EOF after the last one. Errors name the
// tree blob at fault.
func (r *Reader) Next(ctx context.Context) (*Node, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.stack == nil && !r.seen {
		r.seen = true
		if err := r.push(ctx, r.root); err != nil {
			r.err = err
			return nil, err
		}
	}
	for len(r.stack) > 0 {
		f := r.stack[len(r.stack)-1]
		if f.blob.Leaf && f.pos < len(f.blob.Nodes) {
			n, err := DecodeNode(f.blob.Nodes[f.pos])
			f.pos++
			if err == nil && r.last != "" && n.Name <= r.last {
				err = fmt.Errorf("tree node %q follows %q: names out of order (corrupt tree)", n.Name, r.last)
			}
			if err != nil {
				r.err = fmt.Errorf("tree %s: %w", r.root, err)
				return nil, r.err
			}
			r.last = n.Name
			return n, nil
		}
		if !f.blob.Leaf && f.pos < len(f.blob.Children) {
			c := f.blob.Children[f.pos]
			f.pos++
			if err := r.push(ctx, c.ID); err != nil {
				r.err = err
				return nil, err
			}
			continue
		}
		r.stack = r.stack[:len(r.stack)-1]
	}
	r.err = io.EOF
	return nil, io.EOF
}

// ReadAll reads every node of a directory; only for directories known to be
// small (tests, tools). Large directories should use Next.
func ReadAll(ctx context.Context, l Loader, ref ident.ID) ([]*Node, error) {
	r := NewReader(l, ref)
	var out []*Node
	for {
		n, err := r.Next(ctx)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
}
