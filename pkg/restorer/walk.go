package restorer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cairnbackup/cairn/pkg/fsutil"
	"github.com/cairnbackup/cairn/pkg/repo/ident"
	"github.com/cairnbackup/cairn/pkg/repo/tree"
)

// pendingDir is a directory on the way to included paths that is created
// only once something below it is restored, so patterns that match deep
// inside a snapshot do not leave empty directories everywhere else.
type pendingDir struct {
	parent  *pendingDir
	path    string
	node    tree.Node
	created bool
}

// walkDir restores the children of dir (a directory node) into path. elems
// is the directory's path in the snapshot; whole means it is restored with
// everything below it (except exclusions); pending, when non-nil, is this
// directory itself, not yet created.
func (r *restore) walkDir(ctx context.Context, path string, dir ident.ID, elems []string, whole bool, pending *pendingDir) error {
	it := tree.NewReader(r.repo, dir)
	var keep map[string]bool
	if whole && r.deletesBelow(elems) {
		keep = map[string]bool{}
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		np, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			if keep != nil {
				r.deleteExtra(path, elems, keep)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("read snapshot directory %s: %w", "/"+filepath.Join(elems...), err)
		}
		n := *np
		if err := checkName(n.Name); err != nil {
			return fmt.Errorf("snapshot directory %s: %w", "/"+filepath.Join(elems...), err)
		}
		if keep != nil {
			keep[n.Name] = true
		}
		childElems := append(elems[:len(elems):len(elems)], n.Name)
		childWhole := whole
		var snapPath string
		if r.sel.patterns() {
			snapPath = "/" + strings.Join(childElems, "/")
			if r.sel.excluded(snapPath) {
				continue
			}
			childWhole = r.sel.included(snapPath) || whole
		}
		child := filepath.Join(path, n.Name)
		switch {
		case childWhole:
			if err := r.createPending(pending); err != nil {
				return err
			}
			if err := r.entry(ctx, child, n, childElems); err != nil {
				return err
			}
		case n.Type == tree.Dir && r.sel.mayIncludeBelow(snapPath):
			sub := &pendingDir{parent: pending, path: child, node: n}
			if err := r.walkDir(ctx, child, n.Subtree, childElems, false, sub); err != nil {
				return err
			}
		}
	}
}

// createPending creates p and its pending parents, outermost first, so
// their metadata is applied like any restored directory's.
func (r *restore) createPending(p *pendingDir) error {
	if p == nil || p.created {
		return nil
	}
	if err := r.createPending(p.parent); err != nil {
		return err
	}
	p.created = true
	return r.mkdir(p.path, p.node)
}

// mkdir creates (or keeps) the directory for node n at path and queues its
// metadata for the end of the restore.
func (r *restore) mkdir(path string, n tree.Node) error {
	if err := os.Mkdir(path, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fatal(path, err)
	}
	fi, err := os.Lstat(path)
	if err == nil && fi.IsDir() {
		r.own.takeOver(path, fi)
	} else {
		if err := replace(path); err != nil {
			return fatal(path, err)
		}
		if err := os.Mkdir(path, 0o700); err != nil {
			return fatal(path, err)
		}
	}
	r.dirs = append(r.dirs, dirMeta{path: path, node: n})
	r.count(func(s *Stats) { s.Dirs++ })
	r.progress.AddFiles(1)
	return nil
}

// checkName refuses names that would escape the target directory; a
// damaged or malicious snapshot must not write outside it.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("invalid entry name %q in snapshot", name)
	}
	return nil
}

func (r *restore) entry(ctx context.Context, path string, n tree.Node, elems []string) error {
	switch n.Type {
	case tree.Dir:
		if err := r.mkdir(path, n); err != nil {
			return err
		}
		return r.walkDir(ctx, path, n.Subtree, elems, true, nil)
	case tree.Symlink:
		if cur, err := os.Readlink(path); err == nil && cur == n.LinkTarget {
			// already right
		} else {
			if err := replace(path); err != nil {
				return fatal(path, err)
			}
			if err := os.Symlink(n.LinkTarget, path); err != nil {
				return fatal(path, err)
			}
		}
		if err := r.applyMeta(path, n, true); err != nil {
			r.warn(path, err)
		}
		r.count(func(s *Stats) { s.Files++ })
		r.progress.AddFiles(1)
		return nil
	case tree.File:
		if n.Links > 1 {
			key := [2]uint64{n.DeviceID, n.Inode}
			if first, ok := r.hardlinks[key]; ok {
				return r.link(first, path)
			}
			r.hardlinks[key] = path
		}
		return r.file(ctx, path, n)
	default:
		return r.special(path, n)
	}
}

func (r *restore) link(first, path string) error {
	if a, err := os.Stat(first); err == nil {
		if b, err := os.Lstat(path); err == nil && os.SameFile(a, b) {
			r.progress.AddFiles(1)
			return nil
		}
	}
	if err := replace(path); err != nil {
		return fatal(path, err)
	}
	if err := os.Link(first, path); err != nil {
		return fatal(path, err)
	}
	r.count(func(s *Stats) { s.Links++ })
	r.progress.AddFiles(1)
	return nil
}

// special creates device nodes, FIFOs and sockets (device nodes need root).
func (r *restore) special(path string, n tree.Node) error {
	if err := replace(path); err != nil {
		return fatal(path, err)
	}
	mode := n.Mode & 0o7777
	switch n.Type {
	case tree.FIFO:
		mode |= syscall.S_IFIFO
	case tree.CharDevice:
		mode |= syscall.S_IFCHR
	case tree.BlockDevice:
		mode |= syscall.S_IFBLK
	case tree.Socket:
		mode |= syscall.S_IFSOCK
	default:
		r.warn(path, fmt.Errorf("unknown node type %v, skipped", n.Type))
		return nil
	}
	if err := syscall.Mknod(path, mode, int(n.Rdev)); err != nil {
		r.warn(path, fmt.Errorf("cannot create special file: %w", err))
		return nil
	}
	if err := r.applyMeta(path, n, false); err != nil {
		r.warn(path, err)
	}
	r.count(func(s *Stats) { s.Files++ })
	r.progress.AddFiles(1)
	return nil
}

// replace removes whatever is at path so another kind of entry can take
// its place; a missing path is fine.
func replace(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return os.RemoveAll(path)
	}
	return os.Remove(path)
}

// applyMeta sets ownership (as far as the process may, see
// ownership.setOwner), extended attributes, permissions and times, in that
// order: chown clears file capabilities (security.capability) so
// attributes come after it; an access ACL rewrites the group permission
// bits and user.* attributes need a writable file, so chmod comes after
// them; and every other change moves the ctime but not the mtime, so times
// come last. Attributes that cannot be set are counted in
// Stats.XattrsSkipped and reported in the returned error (one per file).
func (r *restore) applyMeta(path string, n tree.Node, symlink bool) error {
	var errs []error
	if err := r.own.setOwner(path, n); err != nil {
		errs = append(errs, err)
	}
	if err := r.applyXattrs(path, n.Xattrs); err != nil {
		errs = append(errs, err)
	}
	if !symlink {
		if err := syscall.Chmod(path, n.Mode); err != nil {
			errs = append(errs, &os.PathError{Op: "chmod", Path: path, Err: err})
		}
	}
	if err := fsutil.LUtimes(path, time.Unix(0, n.ModTime)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// applyXattrs makes path's extended attributes those of the snapshot,
// writing only what differs.
func (r *restore) applyXattrs(path string, want []tree.Xattr) error {
	attrs := make([]fsutil.Xattr, len(want))
	for i, x := range want {
		attrs[i] = fsutil.Xattr{Name: x.Name, Value: x.Value}
	}
	_, failed := fsutil.SyncXattrs(path, attrs)
	if len(failed) == 0 {
		return nil
	}
	r.count(func(s *Stats) { s.XattrsSkipped += int64(len(failed)) })
	unsupported := true
	msgs := make([]string, len(failed))
	for i := range failed {
		unsupported = unsupported && fsutil.NoXattrSupport(failed[i].Err)
		msgs[i] = failed[i].Error()
	}
	if unsupported {
		return fmt.Errorf("%d extended attributes not restored: the target file system does not support them (%s)", len(failed), strings.Join(msgs, "; "))
	}
	return fmt.Errorf("%d extended attributes not restored (%s)", len(failed), strings.Join(msgs, "; "))
}
