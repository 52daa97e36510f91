// Package archiver backs up file system trees into a repository.
//
// The walk runs in one goroutine and lists directories in name order; regular
// files go to a pool of file workers that read, chunk and hash them, and new
// chunks go to a pool of blob workers that call the repository's SaveBlob
// (which compresses and encrypts in the caller's goroutine). Each directory's
// children go, in order, to a streaming tree writer as they complete: on the
// walker's goroutine while it lists the directory, and on a goroutine of the
// directory's own for the children still being read when the listing ends. Memory is bounded by Options.MaxMemory (chunk data
// in flight) plus one read buffer per file worker, never by the data size.
package archiver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"

	"github.com/cairnbackup/cairn/pkg/bufpool"
	"github.com/cairnbackup/cairn/pkg/chunker"
	"github.com/cairnbackup/cairn/pkg/fsfilter"
	"github.com/cairnbackup/cairn/pkg/progress"
	"github.com/cairnbackup/cairn/pkg/repo/ident"
	"github.com/cairnbackup/cairn/pkg/repo/tree"
)

// Options control one backup run.
type Options struct {
	// Paths to back up; relative paths are made absolute. The snapshot's
	// tree mirrors the absolute paths, so restore can put them back.
	Paths []string
	// Filter selects what is included; nil keeps everything.
	Filter *fsfilter.Filter
	// OneFileSystem stops at mount points below the given paths.
	OneFileSystem bool
	// ParentTree is the root tree of the parent snapshot (zero for none).
	// Files whose size, mtime, ctime and inode match the parent are not
	// read; their content IDs are reused.
	ParentTree ident.ID
	// ParentXattrs says the parent snapshot's nodes hold every extended
	// attribute their files had (none was skipped, and the same user took
	// it, so it listed the same attributes). An unchanged file then takes
	// its attributes from the parent instead of reading them: setting or
	// removing an attribute changes a file's ctime, which makes it changed.
	ParentXattrs bool
	// FileWorkers read and chunk files; default GOMAXPROCS, at least 2
	// (reads overlap with hashing). Each holds up to two chunk buffers.
	FileWorkers int
	// BlobWorkers compress, encrypt and store chunks; default GOMAXPROCS.
	BlobWorkers int
	// MaxMemory bounds chunk data held between reading and saving, in
	// bytes; default 8 MiB (enough to keep every core busy; more only
	// costs memory).
	MaxMemory int64
	// Progress receives counters; nil for none.
	Progress *progress.Tracker
	// Warn receives non-fatal problems (a vanished file, a permission
	// error). They are also counted in Stats.Warnings.
	Warn func(path string, err error)
}

// DefaultMaxMemory is Options.MaxMemory's default: two maximum-size chunks.
const DefaultMaxMemory = 8 << 20

// Result is the outcome of a backup.
type Result struct {
	// Tree is the snapshot's root tree.
	Tree  ident.ID
	Stats Stats
}

// Repository is what the archiver needs from a repository.
type Repository interface {
	BlobRepository
	tree.Loader
}

// run holds the state of one backup.
type run struct {
	repo     Repository
	opts     Options
	progress *progress.Tracker
	files    *fileSaver
	blobs    *blobSaver
	fileJobs chan fileJob
	workers  sync.WaitGroup
	// walkers holds a token per extra directory-walking goroutine;
	// walking counts them so Run can wait for all before closing fileJobs
	// (a cancelled backup resolves the root before every walker stops).
	walkers chan struct{}
	walking sync.WaitGroup
	stats   stats
	// nodes builds tree nodes with extended attributes.
	nodes nodeReader

	cancel context.CancelCauseFunc
	warnMu sync.Mutex
}

// Run backs up opts.Paths. It returns an error only for problems that make
// the snapshot unusable (repository errors, no readable path at all);
// problems with single files are passed to opts.Warn and counted.
func Run(ctx context.Context, repo Repository, ck *chunker.Chunker, opts Options) (Result, error) {
	if len(opts.Paths) == 0 {
		return Result{}, errors.New("no paths to back up: name at least one file or directory")
	}
	root, err := buildTrie(opts.Paths)
	if err != nil {
		return Result{}, err
	}
	procs := runtime.GOMAXPROCS(0)
	if opts.FileWorkers <= 0 {
		opts.FileWorkers = max(procs, 2)
	}
	if opts.BlobWorkers <= 0 {
		opts.BlobWorkers = procs
	}
	if opts.MaxMemory <= 0 {
		opts.MaxMemory = DefaultMaxMemory
	}
	if min := int64(2 * ck.Params().Max); opts.MaxMemory < min {
		return Result{}, fmt.Errorf("memory limit %d bytes is below two maximum-size chunks (%d bytes)", opts.MaxMemory, min)
	}
	var rootSt syscall.Stat_t
	if err := syscall.Lstat("/", &rootSt); err != nil {
		return Result{}, fmt.Errorf("stat /: %w", err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	a := &run{repo: repo, opts: opts, progress: opts.Progress, cancel: cancel,
		walkers: make(chan struct{}, procs)}
	bufs := &bufpool.Shared
	a.blobs = newBlobSaver(ctx, repo, opts.BlobWorkers, opts.MaxMemory, bufs)
	a.files = &fileSaver{repo: repo, chunker: ck, blobs: a.blobs, bufs: bufs, onBytes: opts.Progress.AddBytes}
	a.fileJobs = make(chan fileJob, opts.FileWorkers)
	for i := 0; i < opts.FileWorkers; i++ {
		a.workers.Add(1)
		go a.fileWorker(ctx)
	}
	// The scan only stats entries, so it nearly always ends first; a backup
	// that outruns it (a small tree) waits for it, so the final report has
	// its totals and says 100%.
	scanned := make(chan struct{})
	if opts.Progress != nil {
		go func() {
			defer close(scanned)
			scan(ctx, root, opts.Filter, opts.OneFileSystem, opts.Progress)
		}()
	} else {
		close(scanned)
	}

	fut := a.walkDir(ctx, "/", &rootSt, opts.ParentTree, root)
	<-fut.done
	a.walking.Wait()
	close(a.fileJobs)
	a.workers.Wait()
	a.blobs.close()
	if err := context.Cause(ctx); err != nil {
		return Result{}, err
	}
	if fut.err != nil {
		return Result{}, fut.err
	}
	<-scanned
	st := a.stats.snapshot()
	st.XattrsSkipped = a.nodes.xattrsSkipped.Load()
	return Result{Tree: fut.node.Subtree, Stats: st}, nil
}

// fail stops the backup with err (the first error wins).
func (a *run) fail(err error) { a.cancel(err) }

func (a *run) warn(path string, err error) {
	a.stats.addWarning()
	a.progress.AddError()
	if a.opts.Warn != nil {
		a.warnMu.Lock()
		a.opts.Warn(path, err)
		a.warnMu.Unlock()
	}
}

// trie is the set of paths the user named, as a tree of path elements.
type trie struct {
	terminal bool
	children map[string]*trie
}

func (t *trie) names() []string {
	names := make([]string, 0, len(t.children))
	for n := range t.children {
		names = append(names, n)
	}
	sortStrings(names)
	return names
}

func buildTrie(paths []string) (*trie, error) {
	root := &trie{children: map[string]*trie{}}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("path %q: %w", p, err)
		}
		if _, err := os.Lstat(abs); err != nil {
			return nil, fmt.Errorf("cannot back up %q: %w", p, err)
		}
		if abs == "/" {
			return nil, errors.New("backing up / as a whole is not supported: name the directories below it")
		}
		node := root
		for _, el := range splitAbs(abs) {
			if node.terminal {
				break // a parent path is already included whole
			}
			next, ok := node.children[el]
			if !ok {
				next = &trie{children: map[string]*trie{}}
				node.children[el] = next
			}
			node = next
		}
		node.terminal = true
		node.children = nil
	}
	return root, nil
}
