package restorer

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// deletesBelow reports whether the directory at snapshot path elems lies at
// or below one of Options.DeleteExtra, so entries the snapshot does not
// hold are removed from it.
func (r *restore) deletesBelow(elems []string) bool {
	if len(r.opts.DeleteExtra) == 0 {
		return false
	}
	p := "/" + strings.Join(elems, "/")
	for _, d := range r.opts.DeleteExtra {
		d = path.Clean("/" + d)
		if p == d || strings.HasPrefix(p, strings.TrimSuffix(d, "/")+"/") {
			return true
		}
	}
	return false
}

// deleteExtra removes from dir (the directory at snapshot path elems, just
// restored whole) every entry whose name is not in keep, except those an
// exclude pattern leaves out of the restore. A removal that fails is a
// warning: the snapshot's files are in place either way.
func (r *restore) deleteExtra(dir string, elems []string, keep map[string]bool) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		r.warn(dir, fmt.Errorf("cannot list the directory to remove what the snapshot does not hold: %w", err))
		return
	}
	for _, e := range entries {
		if keep[e.Name()] {
			continue
		}
		if r.sel.patterns() && r.sel.excludes("/"+path.Join(append(elems[:len(elems):len(elems)], e.Name())...)) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := r.own.removeAll(p); err != nil {
			r.warn(p, fmt.Errorf("not in the snapshot, but cannot be removed: %w", err))
			continue
		}
		r.count(func(s *Stats) { s.Deleted++ })
	}
}
