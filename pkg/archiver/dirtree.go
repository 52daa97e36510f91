package archiver

import (
	"context"
	"fmt"

	"github.com/cairnbackup/cairn/pkg/repo/ident"
	"github.com/cairnbackup/cairn/pkg/repo/tree"
)

// maxPendingChildren bounds the children of one directory whose futures
// are held before they are added to its tree: the walker waits for the
// oldest once there are more, so a directory of millions of entries costs
// memory for this many, not for all.
const maxPendingChildren = 256

// dirTree feeds one directory's children to its tree writer in name order
// as they complete. The walker that lists the directory adds every child
// that is complete at the head of the queue itself, so a directory whose
// entries need no work (an unchanged directory of a re-backup: its files
// match the parent snapshot) is finished on the walker's goroutine without
// a goroutine, channel or wake-up per entry. Only a directory with children
// still being read when its listing ends gets a goroutine that waits for
// them (finish).
type dirTree struct {
	a    *run
	path string
	node tree.Node
	w    *tree.Writer
	// queue[head:] are the children not yet added, in name order.
	queue []*future
	head  int
	err   error
	// scratch is the future of the entry being pushed when that entry is
	// complete at once (an unchanged file, a symlink): it is added to the
	// tree right away when nothing is queued before it, and copied to the
	// heap only when it must wait in the queue, so an unchanged directory
	// allocates no future per entry.
	scratch future
}

func (a *run) newDirTree(path string, node tree.Node) *dirTree {
	return &dirTree{a: a, path: path, node: node, w: tree.NewWriter(a.repo, 0)}
}

// push queues the next child in name order, then adds the completed
// children at the head of the queue; it waits for the oldest child only
// while more than maxPendingChildren are queued.
func (d *dirTree) push(ctx context.Context, c *future) {
	if c == &d.scratch {
		if d.head == len(d.queue) {
			d.add(ctx, c)
			d.scratch = future{}
			return
		}
		c = &future{done: d.scratch.done, node: d.scratch.node, skip: d.scratch.skip, err: d.scratch.err}
		d.scratch = future{}
	}
	if d.head == len(d.queue) {
		d.queue, d.head = d.queue[:0], 0
	} else if d.head >= maxPendingChildren && 2*d.head >= len(d.queue) {
		n := copy(d.queue, d.queue[d.head:])
		clear(d.queue[n:])
		d.queue, d.head = d.queue[:n], 0
	}
	d.queue = append(d.queue, c)
	d.drain(ctx, false)
}

// drain adds completed children from the head of the queue. With wait it
// waits for each (until the queue is empty or ctx ends); without, it stops
// at the first child still in the making, unless the queue is over its
// bound.
func (d *dirTree) drain(ctx context.Context, wait bool) {
	for d.head < len(d.queue) {
		c := d.queue[d.head]
		if wait || len(d.queue)-d.head > maxPendingChildren {
			select {
			case <-c.done:
			case <-ctx.Done():
				return
			}
		} else {
			select {
			case <-c.done:
			default:
				return
			}
		}
		d.queue[d.head] = nil
		d.head++
		d.add(ctx, c)
	}
}

// add puts one completed child into the tree; the first failure is kept
// and later children are only drained.
func (d *dirTree) add(ctx context.Context, c *future) {
	if d.err != nil || ctx.Err() != nil {
		return
	}
	if c.err != nil {
		d.err = c.err
		return
	}
	if c.skip {
		return
	}
	if err := d.w.Add(ctx, &c.node); err != nil {
		d.err = fmt.Errorf("tree of %s: %w", d.path, err)
	}
}

// done is called by the walker once every child is pushed: it finishes the
// directory now if no child is still in the making, else on a goroutine
// that waits for the rest, and resolves fut with the directory's node.
func (d *dirTree) done(ctx context.Context, fut *future) {
	d.drain(ctx, false)
	if d.head == len(d.queue) || ctx.Err() != nil {
		d.finish(ctx, fut)
		return
	}
	go d.finish(ctx, fut)
}

// finish waits for the remaining children, writes the tree and resolves fut.
func (d *dirTree) finish(ctx context.Context, fut *future) {
	d.drain(ctx, true)
	err := d.err
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		var ref ident.ID
		if ref, err = d.w.Close(ctx); err != nil {
			err = fmt.Errorf("tree of %s: %w", d.path, err)
		} else {
			d.node.Subtree = ref
		}
	}
	if err != nil {
		d.a.fail(err)
		fut.resolve(d.node, err)
		return
	}
	d.a.stats.addDir()
	d.a.progress.AddFiles(1)
	fut.resolve(d.node, nil)
}
