package archiver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/cairnbackup/cairn/pkg/fsutil"
	"github.com/cairnbackup/cairn/pkg/repo/ident"
	"github.com/cairnbackup/cairn/pkg/repo/tree"
)

// future is a node that may still be in the making. The directory's tree
// (dirTree) takes each child's future in name order, so nodes reach the tree writer
// in order while files are processed out of order by the workers.
type future struct {
	done chan struct{}
	node tree.Node
	skip bool // the entry is left out (vanished, unreadable)
	err  error
}

func newFuture() *future { return &future{done: make(chan struct{})} }

// closed is shared by every future that is complete when made, so the
// many entries that need no work (unchanged files, symlinks) cost no
// channel of their own.
var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// resolved returns a complete future for n: *into, the caller's scratch
// future, when into is not nil (see dirTree.push), else a new one.
func resolved(into *future, n tree.Node) *future {
	if into == nil {
		return &future{done: closed, node: n}
	}
	*into = future{done: closed, node: n}
	return into
}

// skipped returns a complete future for an entry that is left out, in
// *into like resolved.
func skipped(into *future) *future {
	if into == nil {
		return &future{done: closed, skip: true}
	}
	*into = future{done: closed, skip: true}
	return into
}

func (f *future) resolve(n tree.Node, err error) {
	f.node, f.err = n, err
	close(f.done)
}

// fileJob asks a file worker to save one regular file.
type fileJob struct {
	path string
	st   syscall.Stat_t
	// node is the file's metadata (with xattrs) as the walker read it; the
	// worker adds the content.
	node tree.Node
	fut  *future
	// changed is set when the parent snapshot has this file (so it is
	// read because it changed, not because it is new).
	changed bool
}

// walkDir lists a directory in name order, starts work for every entry and
// returns the directory's future. virtual, when non-nil, replaces the real
// listing: it holds the part of the path trie below this directory, so only
// the paths the user named are backed up.
func (a *run) walkDir(ctx context.Context, path string, st *syscall.Stat_t, parent ident.ID, virtual *trie) *future {
	fut := newFuture()
	a.walkInto(ctx, path, st, parent, virtual, fut)
	return fut
}

// walkSubdir walks a subdirectory on a new goroutine when a walker slot is
// free (listing and lstat-ing are syscall-bound, so several directories at
// once use the cores on trees of many small files), else on this one.
func (a *run) walkSubdir(ctx context.Context, path string, st *syscall.Stat_t, parent ident.ID) *future {
	select {
	case a.walkers <- struct{}{}:
		fut := newFuture()
		stCopy := *st
		a.walking.Add(1)
		go func() {
			defer a.walking.Done()
			defer func() { <-a.walkers }()
			a.walkInto(ctx, path, &stCopy, parent, nil, fut)
		}()
		return fut
	default:
		return a.walkDir(ctx, path, st, parent, nil)
	}
}

// walkInto does walkDir's work, resolving fut once the directory's tree is
// written.
func (a *run) walkInto(ctx context.Context, path string, st *syscall.Stat_t, parent ident.ID, virtual *trie, fut *future) {
	d := a.newDirTree(path, a.nodes.node(path, st))
	defer d.done(ctx, fut)
	var names []string
	if virtual != nil {
		names = virtual.names()
	} else {
		var err error
		names, err = readDirNames(path)
		if err != nil {
			a.warn(path, err)
		}
	}
	var parentIt *parentIter
	if !parent.IsZero() {
		parentIt = &parentIter{r: tree.NewReader(a.repo, parent)}
	}
	for _, name := range names {
		if ctx.Err() != nil {
			return
		}
		child := filepath.Join(path, name)
		var prev *tree.Node
		if parentIt != nil {
			prev = parentIt.find(ctx, name)
		}
		if virtual != nil {
			sub := virtual.children[name]
			if !sub.terminal {
				// An ancestor of a named path: follow a symlink here,
				// so the snapshot records the directory it leads to.
				var cst syscall.Stat_t
				if err := syscall.Stat(child, &cst); err != nil {
					a.warn(child, err)
					continue
				}
				d.push(ctx, a.walkDir(ctx, child, &cst, subtreeOf(prev), sub))
				continue
			}
		}
		d.push(ctx, a.entry(ctx, child, name, st, prev, &d.scratch))
	}
}

// entry handles one directory entry and returns its future; one that is
// complete at once may be *into (nil: always a new future).
func (a *run) entry(ctx context.Context, path, name string, dirSt *syscall.Stat_t, prev *tree.Node, into *future) *future {
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			a.warn(path, errVanished)
		} else {
			a.warn(path, err)
		}
		return skipped(into)
	}
	if a.opts.Filter.Excluded(path) {
		return skipped(into)
	}
	isDir := st.Mode&syscall.S_IFMT == syscall.S_IFDIR
	if !isDir && !a.opts.Filter.Included(path) {
		return skipped(into)
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		if a.opts.OneFileSystem && dirSt != nil && st.Dev != dirSt.Dev {
			// A mount point: keep the directory itself, not its content.
			return a.emptyDir(ctx, path, &st)
		}
		return a.walkSubdir(ctx, path, &st, subtreeOf(prev))
	case syscall.S_IFREG:
		n := nodeFromStat(name, &st)
		reuse := prev != nil && unchanged(prev, &n)
		if reuse && a.opts.ParentXattrs {
			// Changing an attribute changes the ctime, so the parent's
			// attributes are the file's: no llistxattr per unchanged file.
			n.Xattrs = prev.Xattrs
		} else {
			a.nodes.addXattrs(path, &n)
		}
		if reuse {
			n.Content = prev.Content
			n.Holes = prev.Holes
			a.stats.addUnchanged(int64(n.Size))
			a.progress.AddBytes(int64(n.Size))
			a.progress.AddFiles(1)
			return resolved(into, n)
		}
		fut := newFuture()
		select {
		case a.fileJobs <- fileJob{path: path, st: st, node: n, fut: fut, changed: prev != nil && prev.Type == tree.File}:
		case <-ctx.Done():
			return skipped(into)
		}
		return fut
	case syscall.S_IFLNK:
		n := a.nodes.node(path, &st)
		target, err := os.Readlink(path)
		if err != nil {
			a.warn(path, err)
			return skipped(into)
		}
		n.LinkTarget = target
		a.progress.AddFiles(1)
		return resolved(into, n)
	default:
		a.progress.AddFiles(1)
		return resolved(into, a.nodes.node(path, &st))
	}
}

func (a *run) emptyDir(ctx context.Context, path string, st *syscall.Stat_t) *future {
	fut := newFuture()
	a.newDirTree(path, a.nodes.node(path, st)).done(ctx, fut)
	return fut
}

// fileWorker saves files from the job queue until it is closed.
func (a *run) fileWorker(ctx context.Context) {
	defer a.workers.Done()
	for j := range a.fileJobs {
		if ctx.Err() != nil {
			j.fut.resolve(tree.Node{}, ctx.Err())
			continue
		}
		res, err := a.files.save(ctx, j.path, &j.st)
		if err != nil {
			var se *sourceError
			if errors.As(err, &se) {
				a.warn(j.path, err)
				j.fut.skip = true
				j.fut.resolve(tree.Node{}, nil)
				continue
			}
			a.fail(err)
			j.fut.resolve(tree.Node{}, err)
			continue
		}
		if res.changed {
			a.warn(j.path, errors.New("file changed while it was read; the snapshot holds the data as read"))
		}
		n := j.node
		n.Size = uint64(res.size)
		n.Content = res.content
		n.Holes = res.holes
		a.stats.addFile(res, j.changed)
		a.progress.AddFiles(1)
		j.fut.resolve(n, nil)
	}
}

// readDirNames lists a directory sorted bytewise, the order trees use.
func readDirNames(path string) ([]string, error) {
	names, err := fsutil.ReadDirNames(path)
	slices.Sort(names)
	return names, err
}

// subtreeOf returns the parent snapshot's subtree for a directory entry.
func subtreeOf(prev *tree.Node) ident.ID {
	if prev == nil || prev.Type != tree.Dir {
		return ident.ID{}
	}
	return prev.Subtree
}

// parentIter walks the parent snapshot's version of a directory alongside
// the current listing; both are in name order, so one pass suffices. A
// damaged parent tree only means files are read again, so errors end the
// iteration instead of the backup.
type parentIter struct {
	r    *tree.Reader
	cur  *tree.Node
	done bool
}

func (p *parentIter) find(ctx context.Context, name string) *tree.Node {
	for !p.done {
		if p.cur == nil {
			n, err := p.r.Next(ctx)
			if err != nil {
				p.done = true
				return nil
			}
			p.cur = n
		}
		switch {
		case p.cur.Name == name:
			n := p.cur
			p.cur = nil
			return n
		case p.cur.Name > name:
			return nil
		default:
			p.cur = nil
		}
	}
	return nil
}
