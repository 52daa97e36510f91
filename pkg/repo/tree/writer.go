package tree

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/cairnbackup/cairn/pkg/repo/ident"
)

// Saver stores tree blobs; *repo.Repository implements it. SaveBlob must
// not keep data after it returns: the writer reuses its pages.
type Saver interface {
	Hash(data []byte) ident.ID
	SaveBlob(ctx context.Context, t ident.BlobType, id ident.ID, data []byte) (int, error)
}

// DefaultPageSize is the target size of one tree blob.
const DefaultPageSize = 256 << 10

// Writer turns one directory's nodes, given in strictly increasing name
// order, into tree blobs of bounded size and returns the directory's
// reference. Memory use is one page per index level.
type Writer struct {
	s        Saver
	pageSize int
	levels   []*level
	last     string
	count    uint64
	scratch  []byte
	closed   bool
}

type level struct {
	// body is headerRoom bytes for the blob header, then the encoded
	// entries, so a page is stored without copying it.
	body    []byte
	n       int
	first   string
	count   uint64 // nodes under the entries in body
	emitted int    // blobs already emitted at this level
}

// headerRoom is the most a blob header (appendHeader) takes.
const headerRoom = len(blobMagic) + 1 + binary.MaxVarintLen64

// bodies keeps page buffers between writers: a backup writes one tree per
// directory, and growing each directory's page from nothing was the largest
// source of garbage of an unchanged re-backup.
var bodies sync.Pool

// start makes sure l.body holds the header room.
func (l *level) start() {
	if len(l.body) > 0 {
		return
	}
	if l.body == nil {
		if b, ok := bodies.Get().(*[]byte); ok {
			l.body = (*b)[:0]
		}
	}
	l.body = append(l.body[:0], make([]byte, headerRoom)...)
}

// size is the length of the encoded entries.
func (l *level) size() int { return max(0, len(l.body)-headerRoom) }

// NewWriter starts a directory. pageSize ≤ 0 means DefaultPageSize.
func NewWriter(s Saver, pageSize int) *Writer {
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	return &Writer{s: s, pageSize: pageSize, levels: []*level{{}}}
}

// Add appends a node. Names must be strictly increasing (byte order) — the
// order os.ReadDir and sort.Strings give — so readers can merge and search.
func (w *Writer) Add(ctx context.Context, n *Node) error {
	if w.closed {
		return fmt.Errorf("tree writer: Add after Close")
	}
	if err := n.Validate(); err != nil {
		return err
	}
	if w.count > 0 && n.Name <= w.last {
		return fmt.Errorf("tree writer: %q added after %q; nodes must come in strictly increasing name order", n.Name, w.last)
	}
	w.scratch = AppendNode(w.scratch[:0], n)
	l := w.levels[0]
	if l.n > 0 && l.size()+len(w.scratch)+binary.MaxVarintLen64 > w.pageSize {
		if err := w.emit(ctx, 0); err != nil {
			return err
		}
	}
	if l.n == 0 {
		l.first = n.Name
	}
	l.start()
	l.body = binary.AppendUvarint(l.body, uint64(len(w.scratch)))
	l.body = append(l.body, w.scratch...)
	l.n++
	l.count++
	w.count++
	w.last = n.Name
	return nil
}

// emit stores level i's page and adds a reference to it to level i+1.
func (w *Writer) emit(ctx context.Context, i int) error {
	l := w.levels[i]
	id, err := w.store(ctx, l, i)
	if err != nil {
		return err
	}
	if i+1 == len(w.levels) {
		if len(w.levels) >= maxDepth {
			return fmt.Errorf("tree writer: directory needs more than %d index levels", maxDepth)
		}
		w.levels = append(w.levels, &level{})
	}
	p := w.levels[i+1]
	ref := appendString(nil, l.first)
	ref = append(ref, id[:]...)
	ref = binary.AppendUvarint(ref, l.count)
	if p.n > 0 && p.size()+len(ref) > w.pageSize {
		if err := w.emit(ctx, i+1); err != nil {
			return err
		}
	}
	if p.n == 0 {
		p.first = l.first
	}
	p.start()
	p.body = append(p.body, ref...)
	p.n++
	p.count += l.count
	*l = level{body: l.body[:0], emitted: l.emitted + 1}
	return nil
}

func (w *Writer) store(ctx context.Context, l *level, i int) (ident.ID, error) {
	kind := byte(kindLeaf)
	if i > 0 {
		kind = kindIndex
	}
	// The header goes right before the entries, into the room kept for it.
	l.start()
	var hdr [headerRoom]byte
	h := appendHeader(hdr[:0], kind, l.n)
	at := headerRoom - len(h)
	copy(l.body[at:], h)
	blob := l.body[at:]
	id := w.s.Hash(blob)
	if _, err := w.s.SaveBlob(ctx, ident.TreeBlob, id, blob); err != nil {
		return ident.ID{}, fmt.Errorf("save tree blob: %w", err)
	}
	return id, nil
}

// Close stores what is buffered and returns the directory's reference. An
// empty directory is a leaf with no nodes.
func (w *Writer) Close(ctx context.Context) (ident.ID, error) {
	if w.closed {
		return ident.ID{}, fmt.Errorf("tree writer: Close called twice")
	}
	w.closed = true
	defer w.release()
	for i := 0; ; i++ {
		l := w.levels[i]
		if i == len(w.levels)-1 && l.emitted == 0 {
			return w.store(ctx, l, i)
		}
		if l.n > 0 {
			if err := w.emit(ctx, i); err != nil {
				return ident.ID{}, err
			}
		}
	}
}

// release gives the page buffers to the next writer (SaveBlob keeps no
// reference to a blob's bytes).
func (w *Writer) release() {
	for _, l := range w.levels {
		if l.body != nil {
			b := l.body[:0]
			bodies.Put(&b)
			l.body = nil
		}
	}
}

// Count is the number of nodes added so far.
func (w *Writer) Count() uint64 { return w.count }
