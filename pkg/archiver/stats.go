package archiver

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/cairnbackup/cairn/pkg/fsfilter"
	"github.com/cairnbackup/cairn/pkg/progress"
)

// Stats summarise a backup for the snapshot manifest and the CLI.
type Stats struct {
	// FilesRead were new or changed and read in full; FilesChanged is
	// the part of them that the parent snapshot had.
	FilesRead    int64 `json:"filesRead"`
	FilesChanged int64 `json:"filesChanged"`
	// FilesUnchanged matched the parent snapshot and were not read.
	FilesUnchanged int64 `json:"filesUnchanged"`
	Dirs           int64 `json:"dirs"`
	// BytesRead is the content read from files this run.
	BytesRead int64 `json:"bytesRead"`
	// BytesUnchanged is the content reused from the parent unread.
	BytesUnchanged int64 `json:"bytesUnchanged"`
	// BlobsNew counts chunks that were not yet in the repository.
	BlobsNew int64 `json:"blobsNew"`
	// BytesAdded is the plaintext size of the new chunks.
	BytesAdded int64 `json:"bytesAdded"`
	// BytesStored is what the new data chunks took in the repository
	// after compression and encryption.
	BytesStored int64 `json:"bytesStored"`
	// Warnings counts files skipped or changed during the backup.
	Warnings int64 `json:"warnings"`
	// XattrsSkipped counts extended attributes that could not be read
	// and are not in the snapshot (the files themselves are).
	XattrsSkipped int64 `json:"xattrsSkipped"`
}

type stats struct {
	filesRead, filesUnchanged, dirs atomic.Int64
	filesChanged                    atomic.Int64
	bytesRead, bytesUnchanged       atomic.Int64
	blobsNew, bytesStored, warnings atomic.Int64
	bytesAdded                      atomic.Int64
}

func (s *stats) addFile(r fileResult, changed bool) {
	s.filesRead.Add(1)
	if changed {
		s.filesChanged.Add(1)
	}
	s.bytesRead.Add(r.read)
	s.blobsNew.Add(r.newBlobs)
	s.bytesAdded.Add(r.added)
	s.bytesStored.Add(r.stored)
}

func (s *stats) addUnchanged(size int64) {
	s.filesUnchanged.Add(1)
	s.bytesUnchanged.Add(size)
}

func (s *stats) addDir()     { s.dirs.Add(1) }
func (s *stats) addWarning() { s.warnings.Add(1) }

func (s *stats) snapshot() Stats {
	return Stats{
		FilesRead: s.filesRead.Load(), FilesChanged: s.filesChanged.Load(), FilesUnchanged: s.filesUnchanged.Load(), Dirs: s.dirs.Load(),
		BytesRead: s.bytesRead.Load(), BytesUnchanged: s.bytesUnchanged.Load(),
		BlobsNew: s.blobsNew.Load(), BytesAdded: s.bytesAdded.Load(), BytesStored: s.bytesStored.Load(), Warnings: s.warnings.Load(),
	}
}

// scan counts files and bytes under the trie for the progress totals. It
// runs beside the backup and only stats entries, so it finishes well before
// the backup does and gives the ETA something to work with.
func scan(ctx context.Context, root *trie, f *fsfilter.Filter, oneFS bool, tr *progress.Tracker) {
	var walk func(path string, t *trie, dev uint64)
	walk = func(path string, t *trie, dev uint64) {
		if ctx.Err() != nil {
			return
		}
		if t != nil && !t.terminal {
			tr.AddTotal(1, 0)
			for _, n := range t.names() {
				walk(filepath.Join(path, n), t.children[n], 0)
			}
			return
		}
		var st syscall.Stat_t
		if syscall.Lstat(path, &st) != nil || f.Excluded(path) {
			return
		}
		if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
			if f.Included(path) {
				size := int64(0)
				if st.Mode&syscall.S_IFMT == syscall.S_IFREG {
					size = st.Size
				}
				tr.AddTotal(1, size)
			}
			return
		}
		tr.AddTotal(1, 0)
		if oneFS && dev != 0 && uint64(st.Dev) != dev {
			return
		}
		names, _ := readDirNames(path)
		for _, n := range names {
			walk(filepath.Join(path, n), nil, uint64(st.Dev))
		}
	}
	walk("/", root, 0)
	if ctx.Err() == nil {
		tr.TotalsDone()
	}
}

func splitAbs(p string) []string {
	p = strings.Trim(filepath.ToSlash(filepath.Clean(p)), "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func sortStrings(s []string) { slices.Sort(s) }
