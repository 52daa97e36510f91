package restorer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/cairnbackup/cairn/pkg/fsutil"
	"github.com/cairnbackup/cairn/pkg/repo/ident"
	"github.com/cairnbackup/cairn/pkg/repo/index"
	"github.com/cairnbackup/cairn/pkg/repo/tree"
)

// openFile is a regular file being restored; its chunks are written by
// several workers, and the last one to finish closes it and sets metadata.
type openFile struct {
	path string
	node tree.Node
	// f is opened by the first worker that needs it (creating files is
	// costly in the kernel, so it is spread over the workers too).
	once    sync.Once
	f       *fsutil.RawFile
	openErr error
	// data maps the content stream to file offsets (the file minus holes).
	data    []fsutil.Extent
	existed bool // the file was there before: compare chunks before writing
	pending atomic.Int64
	failed  atomic.Bool
}

// chunkTask writes one chunk of a file; offset is its position in the
// content stream (the file's data with holes left out). A task with a zero
// id only creates the (empty) file.
type chunkTask struct {
	file   *openFile
	offset int64
	id     ident.ID
	loc    index.Location
}

// open creates or opens the file once; every task calls it.
func (of *openFile) open() error {
	of.once.Do(func() {
		of.f, of.openErr = fsutil.CreateRaw(of.path, 0o600)
		if of.openErr != nil {
			of.openErr = fatal(of.path, of.openErr)
		}
	})
	return of.openErr
}

// close closes the file if it was opened.
func (of *openFile) close() error {
	if of.f == nil {
		return nil
	}
	return of.f.Close()
}

// file restores one regular file: skips it if it already matches, else
// opens it and queues its chunks.
func (r *restore) file(ctx context.Context, path string, n tree.Node) error {
	existed := false
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().IsRegular() {
			existed = true
			if uint64(fi.Size()) == n.Size && fi.ModTime().UnixNano() == n.ModTime {
				if err := r.applyMeta(path, n, false); err != nil {
					r.warn(path, err)
				}
				r.count(func(s *Stats) { s.FilesSkipped++ })
				r.progress.AddFiles(1)
				r.progress.AddBytes(int64(n.Size))
				return nil
			}
			r.own.takeOver(path, fi)
		} else if err := replace(path); err != nil {
			return fatal(path, err)
		}
	}
	of := &openFile{path: path, node: n, existed: existed}
	if n.Links > 1 {
		// A hardlink's later names link to this path: it must exist now.
		if err := of.open(); err != nil {
			return err
		}
	}
	if len(n.Content) == 0 {
		of.pending.Store(1)
		return r.enqueue(ctx, chunkTask{file: of})
	}
	holes := make([]fsutil.Extent, len(n.Holes))
	for i, h := range n.Holes {
		holes[i] = fsutil.Extent{Offset: int64(h.Offset), Length: int64(h.Length)}
	}
	of.data = fsutil.DataExtents(holes, int64(n.Size))
	of.pending.Store(int64(len(n.Content)))
	var off int64
	for i, id := range n.Content {
		loc, ok := r.repo.LocateBlob(ident.DataBlob, id)
		if !ok {
			// Chunks not queued will never count down; the workers
			// close the file when the queued ones are done.
			of.failed.Store(true)
			if of.pending.Add(-int64(len(n.Content)-i)) == 0 {
				of.close()
			}
			return fmt.Errorf("restore %s: chunk %s: %w", path, id, ErrMissingChunk)
		}
		if err := r.enqueue(ctx, chunkTask{file: of, offset: off, id: id, loc: loc}); err != nil {
			return err
		}
		off += int64(loc.RawLength)
	}
	return nil
}

// handle writes one chunk whose plaintext load returns, then finishes the
// file if it was its last chunk.
func (r *restore) handle(ctx context.Context, t chunkTask, load func() ([]byte, error), cmp *[]byte) {
	err := ctx.Err()
	if err == nil && !t.file.failed.Load() {
		err = t.file.open()
		if err == nil && !t.id.IsZero() {
			err = r.writeChunk(t, load, cmp)
		}
	}
	if err != nil && t.file.failed.CompareAndSwap(false, true) {
		r.cancel(err)
	}
	if t.file.pending.Add(-1) == 0 {
		if t.file.failed.Load() || ctx.Err() != nil {
			t.file.close()
			return
		}
		if err := r.finishFile(t.file); err != nil {
			r.cancel(err)
		}
	}
}

func (r *restore) writeChunk(t chunkTask, load func() ([]byte, error), cmp *[]byte) error {
	data, err := load()
	if err != nil {
		return fmt.Errorf("restore %s: chunk %s at offset %d: %w", t.file.path, t.id.Short(), t.offset, err)
	}
	r.progress.AddBytes(int64(len(data)))
	// Walk the data extents to place the chunk, skipping holes.
	stream := t.offset
	for _, e := range t.file.data {
		if len(data) == 0 {
			break
		}
		if stream >= e.Length {
			stream -= e.Length
			continue
		}
		n := min(int64(len(data)), e.Length-stream)
		if err := r.writeAt(t.file, data[:n], e.Offset+stream, cmp); err != nil {
			return err
		}
		data = data[n:]
		stream = 0
	}
	if len(data) > 0 {
		return fmt.Errorf("restore %s: chunk %s runs past the end of the file; the snapshot's file metadata is inconsistent", t.file.path, t.id.Short())
	}
	return nil
}

// writeAt writes p at off, unless the bytes there are already right (in a
// file that existed) or p is all zeros in a new file (left as a hole).
func (r *restore) writeAt(of *openFile, p []byte, off int64, cmp *[]byte) error {
	if of.existed {
		if cap(*cmp) < len(p) {
			*cmp = make([]byte, len(p))
		}
		buf := (*cmp)[:len(p)]
		if n, _ := of.f.ReadAt(buf, off); n == len(buf) && bytes.Equal(buf, p) {
			r.count(func(s *Stats) { s.ChunksKept++ })
			return nil
		}
	} else if isZero(p) {
		return nil // a hole; the final truncate sets the size
	}
	if _, err := of.f.WriteAt(p, off); err != nil {
		return fatal(of.path, err)
	}
	r.count(func(s *Stats) { s.BytesWritten += int64(len(p)) })
	return nil
}

// finishFile sets the size (creating trailing holes), metadata, and closes.
func (r *restore) finishFile(of *openFile) error {
	if err := of.f.Truncate(int64(of.node.Size)); err != nil {
		of.close()
		return fatal(of.path, err)
	}
	if err := of.f.Close(); err != nil {
		return fatal(of.path, err)
	}
	if err := r.applyMeta(of.path, of.node, false); err != nil {
		r.warn(of.path, err)
	}
	r.count(func(s *Stats) { s.Files++ })
	r.progress.AddFiles(1)
	return nil
}

var zeros = make([]byte, 64<<10)

func isZero(b []byte) bool {
	for len(b) > 0 {
		n := min(len(b), len(zeros))
		if !bytes.Equal(b[:n], zeros[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}
