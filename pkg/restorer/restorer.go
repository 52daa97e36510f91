// Package restorer writes a snapshot's files back to a directory.
//
// One goroutine walks the snapshot tree in order and creates directories,
// symlinks, hardlinks and empty files; the file content is split into chunk
// tasks that a pool of workers loads pack by pack (every chunk is decrypted
// and verified against its ID), and writes at the chunk's offset, so a single large file is
// restored by every core. All-zero chunks are not written, so holes stay
// holes. Directory metadata is applied last, deepest first, so creating
// entries does not disturb directory mtimes.
package restorer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"

	"github.com/cairnbackup/cairn/pkg/progress"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/repo/ident"
	"github.com/cairnbackup/cairn/pkg/repo/index"
	"github.com/cairnbackup/cairn/pkg/repo/tree"
)

// Repository is what the restorer reads from.
type Repository interface {
	tree.Loader
	// LocateBlob gives a chunk's pack, offset and plaintext length, so
	// chunks are read pack by pack and written at their offsets.
	LocateBlob(t ident.BlobType, id ident.ID) (index.Location, bool)
	// OpenBlobInPlace decrypts and verifies a blob read as part of a pack
	// range where it lies (decompressing into dst when compressed).
	OpenBlobInPlace(dst []byte, id ident.ID, sealed []byte, compressed bool, rawLen uint32) ([]byte, error)
	Backend() *backend.Backend
}

// Options control a restore.
type Options struct {
	// Target is the directory to restore into; it is created if missing.
	// A file backed up as /home/a/x is restored to Target/home/a/x.
	Target string
	// InPlace restores into an existing tree whose writable parts are
	// volumes mounted below a Target that may itself be read-only (the
	// root of a restore pod, with the application's volumes at their
	// paths). Target is then neither created nor probed for writing; a
	// write refused below it is reported for that path.
	InPlace bool
	// Include holds patterns (pkg/fsfilter syntax) of snapshot paths to
	// restore; a matching directory is restored whole, with the parent
	// directories needed to reach it. Empty restores everything. Every
	// pattern must match something, else Run returns a *NoMatchError.
	Include []string
	// Exclude holds patterns of snapshot paths to leave out, with
	// everything below them; one that matches nothing is reported in
	// Stats.UnmatchedExcludes.
	Exclude []string
	// DeleteExtra holds snapshot paths (absolute, as backed up: the
	// snapshot's paths) below which the target is made to hold only what
	// the snapshot holds: every directory restored whole at or below one of
	// them loses the entries the snapshot does not have, instead of keeping
	// them beside the restored files. Entries matching Exclude are kept.
	// Empty removes nothing (the default: a restore adds and overwrites).
	DeleteExtra []string
	// Workers load and write chunks; default GOMAXPROCS, at least 2. Each
	// holds one pack range (up to runMax) and one chunk in memory.
	Workers int
	// Progress receives counters; nil for none.
	Progress *progress.Tracker
	// Warn receives problems with single files (a failed chown, say).
	Warn func(path string, err error)
}

// Stats summarise a restore.
type Stats struct {
	Files        int64 `json:"files"`
	Dirs         int64 `json:"dirs"`
	Links        int64 `json:"links"`
	BytesWritten int64 `json:"bytesWritten"`
	// FilesSkipped were already present with the right size and mtime.
	FilesSkipped int64 `json:"filesSkipped"`
	// ChunksKept were already correct in a partially restored file.
	ChunksKept int64 `json:"chunksKept"`
	// Deleted counts the entries removed because the snapshot does not
	// hold them (Options.DeleteExtra); a directory counts once.
	Deleted  int64 `json:"deleted,omitempty"`
	Warnings int64 `json:"warnings"`
	// XattrsSkipped counts extended attributes that could not be set
	// (the target file system lacks them, or the name is not allowed);
	// each file concerned also got a warning.
	XattrsSkipped int64 `json:"xattrsSkipped"`
	// UnmatchedExcludes lists exclude patterns that matched nothing.
	UnmatchedExcludes []string `json:"unmatchedExcludes,omitempty"`
}

// NoMatchError says that include patterns matched nothing in the snapshot,
// so the user learns of a typo instead of getting a silently empty restore.
// Whatever the other patterns selected was restored.
type NoMatchError struct {
	Patterns []string
}

// Error names the patterns and says how to find the right paths.
func (e *NoMatchError) Error() string {
	quoted := make([]string, len(e.Patterns))
	for i, p := range e.Patterns {
		quoted[i] = fmt.Sprintf("%q", p)
	}
	return fmt.Sprintf("include pattern %s matched nothing in the snapshot, so nothing was restored for it "+
		"(patterns with a slash match the whole absolute path)", strings.Join(quoted, ", "))
}

// ErrMissingChunk means a file's content names a chunk the repository's
// index does not hold: the repository is damaged or a prune went wrong.
var ErrMissingChunk = errors.New("chunk is not in the repository index")

type restore struct {
	repo     Repository
	opts     Options
	runs     chan packRun
	wg       sync.WaitGroup
	progress *progress.Tracker
	own      ownership
	cancel   context.CancelCauseFunc

	// batch collects chunk tasks for pack-ordered reading (walker only).
	batch     []chunkTask
	batchSize int64

	dirs      []dirMeta
	hardlinks map[[2]uint64]string
	sel       *selection

	mu    sync.Mutex
	stats Stats
}

type dirMeta struct {
	path string
	node tree.Node
}

// Run restores the tree root (a snapshot's root tree) into opts.Target.
func Run(ctx context.Context, repo Repository, root ident.ID, opts Options) (Stats, error) {
	if opts.Target == "" {
		return Stats{}, errors.New("no restore target given: name a directory to restore into")
	}
	target, err := filepath.Abs(opts.Target)
	if err != nil {
		return Stats{}, err
	}
	if opts.InPlace {
		if st, err := os.Stat(target); err != nil || !st.IsDir() {
			return Stats{}, fmt.Errorf("restore target %s is not an existing directory: an in-place restore writes into volumes mounted below it", target)
		}
	} else if err := prepareTarget(target); err != nil {
		return Stats{}, err
	}
	if opts.Workers <= 0 {
		opts.Workers = max(runtime.GOMAXPROCS(0), 2)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r := &restore{
		repo: repo, opts: opts, progress: opts.Progress, cancel: cancel,
		runs:      make(chan packRun, opts.Workers),
		own:       currentOwnership(),
		hardlinks: map[[2]uint64]string{},
	}
	if r.sel, err = newSelection(opts.Include, opts.Exclude); err != nil {
		return Stats{}, err
	}
	for i := 0; i < opts.Workers; i++ {
		r.wg.Add(1)
		go r.worker(ctx)
	}
	walkErr := r.walkDir(ctx, target, root, nil, r.sel.all(), nil)
	if walkErr == nil {
		walkErr = r.flush(ctx)
	} else {
		r.dropBatch()
	}
	close(r.runs)
	r.wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return r.stats, err
	}
	if walkErr != nil {
		return r.stats, walkErr
	}
	// Directory metadata last, deepest first.
	for i := len(r.dirs) - 1; i >= 0; i-- {
		d := r.dirs[i]
		if err := r.applyMeta(d.path, d.node, false); err != nil {
			r.warn(d.path, err)
		}
	}
	r.stats.UnmatchedExcludes = r.sel.unmatchedExcludes()
	if missing := r.sel.unmatchedIncludes(); len(missing) > 0 {
		return r.stats, &NoMatchError{Patterns: missing}
	}
	return r.stats, nil
}

func prepareTarget(target string) error {
	if err := os.MkdirAll(target, 0o755); err != nil {
		return fmt.Errorf("cannot create restore target %s: %w; choose a writable directory", target, err)
	}
	probe, err := os.CreateTemp(target, ".cairn-write-test-*")
	if err != nil {
		return fmt.Errorf("restore target %s is not writable: %w; choose another directory or fix its permissions", target, err)
	}
	name := probe.Name()
	probe.Close()
	os.Remove(name)
	return nil
}

func (r *restore) warn(path string, err error) {
	r.mu.Lock()
	r.stats.Warnings++
	r.mu.Unlock()
	r.progress.AddError()
	if r.opts.Warn != nil {
		r.mu.Lock()
		r.opts.Warn(path, err)
		r.mu.Unlock()
	}
}

func (r *restore) count(f func(s *Stats)) {
	r.mu.Lock()
	f(&r.stats)
	r.mu.Unlock()
}

// fatal turns write errors into messages that say what to do.
func fatal(path string, err error) error {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("restore %s: the target file system is full (%w); free space or restore fewer paths", path, err)
	case errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("restore %s: disk quota exceeded (%w); raise the quota or restore fewer paths", path, err)
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("restore %s: the target file system is read-only (%w); choose another target", path, err)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("restore %s: permission denied (%w); choose a writable target or run with more rights", path, err)
	}
	return fmt.Errorf("restore %s: %w", path, err)
}
