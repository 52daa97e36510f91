// Package fsfilter decides which paths a backup includes, from include and
// exclude patterns given by the user.
//
// Pattern rules (shared by the CLI and the in-cluster runner):
//   - A pattern without a slash matches a single path element anywhere in
//     the tree: "*.o" or "node_modules".
//   - A pattern with a slash is matched against the whole absolute path,
//     element by element; "**" matches any number of elements:
//     "/var/log/**/*.gz".
//   - Each element is a shell glob (*, ?, [a-z], \ to escape).
//   - An excluded directory is skipped with everything under it.
//   - If include patterns are given, a file is kept only when it, or one
//     of its parent directories, matches one of them; directories are
//     always walked so that matching files deeper down are found.
package fsfilter

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// Filter holds compiled include and exclude patterns. The zero value (or a
// nil *Filter) keeps everything.
type Filter struct {
	include []pattern
	exclude []pattern
}

type pattern struct {
	raw      string
	anchored bool
	elems    []string
}

// New compiles the patterns. It returns an error naming the first malformed
// pattern, so a typo in a flag fails the command before any work is done.
func New(include, exclude []string) (*Filter, error) {
	f := &Filter{}
	for _, s := range include {
		p, err := compile(s)
		if err != nil {
			return nil, err
		}
		f.include = append(f.include, p)
	}
	for _, s := range exclude {
		p, err := compile(s)
		if err != nil {
			return nil, err
		}
		f.exclude = append(f.exclude, p)
	}
	return f, nil
}

func compile(s string) (pattern, error) {
	if strings.TrimSpace(s) == "" {
		return pattern{}, fmt.Errorf("empty include/exclude pattern; remove it or give a glob such as '*.tmp'")
	}
	p := pattern{raw: s}
	if strings.Contains(s, "/") {
		p.anchored = true
		clean := path.Clean("/" + strings.TrimPrefix(s, "/"))
		p.elems = splitPath(clean)
		if len(p.elems) == 0 {
			return pattern{}, fmt.Errorf("pattern %q names only the root directory; name a path below it, such as '/data'", s)
		}
	} else {
		p.elems = []string{s}
	}
	for _, e := range p.elems {
		if e == "**" {
			continue
		}
		if _, err := path.Match(e, ""); err != nil {
			return pattern{}, fmt.Errorf("pattern %q: element %q is not a valid glob: %v", s, e, err)
		}
	}
	return p, nil
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// Excluded reports whether the absolute path p is excluded. Callers should
// not descend into an excluded directory.
func (f *Filter) Excluded(p string) bool {
	if f == nil || len(f.exclude) == 0 {
		return false // without splitting the path: the walker asks for every entry
	}
	elems := splitPath(filepath.ToSlash(p))
	for _, pat := range f.exclude {
		if pat.matches(elems) {
			return true
		}
	}
	return false
}

// Included reports whether a non-directory at absolute path p passes the
// include patterns (always true when there are none).
func (f *Filter) Included(p string) bool {
	if f == nil || len(f.include) == 0 {
		return true
	}
	elems := splitPath(filepath.ToSlash(p))
	for _, pat := range f.include {
		if pat.matchesPrefix(elems) {
			return true
		}
	}
	return false
}

// HasIncludes reports whether include patterns were given.
func (f *Filter) HasIncludes() bool { return f != nil && len(f.include) > 0 }

// matches reports whether the pattern matches the path. Unanchored patterns
// match the last element only: the walker tests each directory on the way
// down, so a match on a parent element is seen when the parent is visited.
func (p pattern) matches(elems []string) bool {
	if !p.anchored {
		if len(elems) == 0 {
			return false
		}
		ok, _ := path.Match(p.elems[0], elems[len(elems)-1])
		return ok
	}
	return matchElems(p.elems, elems)
}

// matchesPrefix reports whether the pattern matches the path or any of its
// parents, which is what "a file under an included directory" means.
func (p pattern) matchesPrefix(elems []string) bool {
	if !p.anchored {
		for _, e := range elems {
			if ok, _ := path.Match(p.elems[0], e); ok {
				return true
			}
		}
		return false
	}
	for n := len(elems); n >= 0; n-- {
		if matchElems(p.elems, elems[:n]) {
			return true
		}
	}
	return false
}

// matchElems matches glob elements against path elements with "**"
// standing for zero or more path elements.
func matchElems(pat, elems []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			for i := 0; i <= len(elems); i++ {
				if matchElems(rest, elems[i:]) {
					return true
				}
			}
			return false
		}
		if len(elems) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], elems[0]); !ok {
			return false
		}
		pat, elems = pat[1:], elems[1:]
	}
	return len(elems) == 0
}
