package restorer

import (
	"fmt"

	"github.com/cairnbackup/cairn/pkg/fsfilter"
)

// selection decides which snapshot entries a restore writes (Options.Include
// and Exclude) and remembers which patterns matched, so a pattern that
// matched nothing is reported instead of giving a silently empty restore.
// It is used by the walking goroutine only.
type selection struct {
	filter         *fsfilter.Filter
	incHit, excHit []bool
	scratch        []int
}

func newSelection(include, exclude []string) (*selection, error) {
	f, err := fsfilter.New(include, exclude)
	if err != nil {
		return nil, fmt.Errorf("restore patterns: %w", err)
	}
	return &selection{filter: f, incHit: make([]bool, len(include)), excHit: make([]bool, len(exclude))}, nil
}

// patterns reports whether any pattern was given; without one every
// entry is restored and no path needs to be matched.
func (s *selection) patterns() bool { return len(s.incHit)+len(s.excHit) > 0 }

// all reports whether everything not excluded is restored (no includes).
func (s *selection) all() bool { return len(s.incHit) == 0 }

// excluded reports whether the snapshot path p is left out, with
// everything below it.
func (s *selection) excluded(p string) bool {
	return s.mark(s.filter.ExcludesMatching(p, s.scratch[:0]), s.excHit)
}

// excludes reports whether an exclude pattern matches the path p without
// counting it as a match: it asks about files on disk, not in the
// snapshot, so it must not hide an exclude that matched nothing there.
func (s *selection) excludes(p string) bool {
	return len(s.filter.ExcludesMatching(p, nil)) > 0
}

// included reports whether an include pattern matches p itself; p is then
// restored whole. It is also asked inside included directories, so that a
// pattern nested in another one counts as matched.
func (s *selection) included(p string) bool {
	return s.mark(s.filter.IncludesMatching(p, s.scratch[:0]), s.incHit)
}

// mayIncludeBelow reports whether the walk must enter directory p to find
// included paths.
func (s *selection) mayIncludeBelow(p string) bool { return s.filter.MayIncludeBelow(p) }

func (s *selection) mark(idx []int, hit []bool) bool {
	s.scratch = idx
	for _, i := range idx {
		hit[i] = true
	}
	return len(idx) > 0
}

func (s *selection) unmatchedIncludes() []string {
	return unmatched(s.filter.IncludePatterns(), s.incHit)
}

func (s *selection) unmatchedExcludes() []string {
	return unmatched(s.filter.ExcludePatterns(), s.excHit)
}

func unmatched(pats []string, hit []bool) []string {
	var out []string
	for i, p := range pats {
		if !hit[i] {
			out = append(out, p)
		}
	}
	return out
}
