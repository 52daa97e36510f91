package fsfilter

import (
	"path"
	"path/filepath"
)

// Selecting from a snapshot (restore) needs more than a yes/no per path:
// which patterns matched, so a pattern that matches nothing can be reported
// as the typo it probably is, and whether a directory can hold a match at
// all, so restoring /home/a/x from a large snapshot reads only the trees on
// the way there.

// IncludePatterns returns the include patterns as given, in order; the
// indices returned by IncludesMatching refer to this list.
func (f *Filter) IncludePatterns() []string {
	if f == nil {
		return nil
	}
	return raws(f.include)
}

// ExcludePatterns returns the exclude patterns as given, in order; the
// indices returned by ExcludesMatching refer to this list.
func (f *Filter) ExcludePatterns() []string {
	if f == nil {
		return nil
	}
	return raws(f.exclude)
}

func raws(pats []pattern) []string {
	var out []string
	for _, p := range pats {
		out = append(out, p.raw)
	}
	return out
}

// IncludesMatching appends to dst the indices of the include patterns that
// match the absolute path p itself (not through a parent directory).
func (f *Filter) IncludesMatching(p string, dst []int) []int {
	if f == nil {
		return dst
	}
	return matching(f.include, p, dst)
}

// ExcludesMatching appends to dst the indices of the exclude patterns that
// match the absolute path p; p is excluded when any does.
func (f *Filter) ExcludesMatching(p string, dst []int) []int {
	if f == nil {
		return dst
	}
	return matching(f.exclude, p, dst)
}

func matching(pats []pattern, p string, dst []int) []int {
	if len(pats) == 0 {
		return dst
	}
	elems := splitPath(filepath.ToSlash(p))
	for i, pat := range pats {
		if pat.matches(elems) {
			dst = append(dst, i)
		}
	}
	return dst
}

// MayIncludeBelow reports whether some path strictly below the directory
// dir could match an include pattern. It is exact enough to prune a walk:
// false means no path below dir can match, so the walk need not enter it.
// A pattern without a slash can match anywhere, so it always says true.
func (f *Filter) MayIncludeBelow(dir string) bool {
	if f == nil || len(f.include) == 0 {
		return true
	}
	elems := splitPath(filepath.ToSlash(dir))
	for _, pat := range f.include {
		if !pat.anchored || couldMatchBelow(pat.elems, elems) {
			return true
		}
	}
	return false
}

// couldMatchBelow reports whether a path made of elems plus at least one
// more element could match the glob elements pat.
func couldMatchBelow(pat, elems []string) bool {
	for len(elems) > 0 {
		if len(pat) == 0 {
			return false
		}
		if pat[0] == "**" {
			return true // it absorbs elems and whatever lies below
		}
		if ok, _ := path.Match(pat[0], elems[0]); !ok {
			return false
		}
		pat, elems = pat[1:], elems[1:]
	}
	return len(pat) > 0
}
