package repo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"

	"github.com/cairnbackup/cairn/pkg/bufpool"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/repo/index"
	"github.com/cairnbackup/cairn/pkg/repo/pack"
)

// openPack is a pack being filled or uploaded. In memory mode its bytes
// only grow while it is the packer's current pack and are immutable after.
// In stream mode (data packs on a local directory) the bytes go straight to
// the pack's file, so a pack costs no memory.
type openPack struct {
	id      ID     // random: the name is fixed before the content is known
	buf     []byte // an in-memory pack's bytes so far
	mem     []byte // the region buf lives in, returned to the packer's free list
	stream  *backend.StreamWriter
	abort   context.CancelFunc
	size    int
	entries []pack.Entry
}

// packer assembles blobs of one type into packs and remembers which blobs
// are saved but not yet in the index (reserved: nil value).
//
// Two locks: mu guards the filling pack (cur and its bytes and entries) and
// may be held while waiting for a memory slot; pendMu guards pending and is
// never held while waiting for anything, so upload workers (which take only
// pendMu) always make progress. Order: mu before pendMu.
type packer struct {
	typ    BlobType
	stream bool
	// limit, when set, is a size a pack must not grow past: the pack is
	// finished before a blob that would cross it (see memPackLimit).
	limit   int
	slots   chan struct{} // memory packs in existence, see newPack
	free    chan []byte   // idle pack regions, at most cap(slots) of them
	mu      sync.Mutex
	cur     *openPack
	pendMu  sync.Mutex
	pending map[ID]*openPack
}

func (p *packer) reserve(id ID) bool {
	p.pendMu.Lock()
	defer p.pendMu.Unlock()
	if p.pending == nil {
		p.pending = map[ID]*openPack{}
	}
	if _, ok := p.pending[id]; ok {
		return false
	}
	p.pending[id] = nil
	return true
}

func (p *packer) unreserve(id ID) {
	p.pendMu.Lock()
	delete(p.pending, id)
	p.pendMu.Unlock()
}

func (p *packer) pendingHas(id ID) bool {
	p.pendMu.Lock()
	defer p.pendMu.Unlock()
	_, ok := p.pending[id]
	return ok
}

// trailerRoom is the space a pack region keeps after the pack's size limit
// for the sealed header the upload appends (about 50 bytes per blob); a
// header that does not fit is appended into a heap copy instead.
const trailerRoom = 256 << 10

func (p *packer) newPack(ctx context.Context, u *uploader, packSize int) (*openPack, error) {
	op := &openPack{}
	if _, err := rand.Read(op.id[:]); err != nil {
		return nil, err
	}
	if p.stream {
		ctx, cancel := context.WithCancel(u.ctx)
		w, err := u.r.be.NewStreamWriter(ctx, PackKey(op.id))
		if err != nil {
			cancel()
			return nil, err
		}
		op.stream, op.abort = w, cancel
		return op, nil
	}
	// Wait for a memory slot: at most Uploads+1 in-memory packs of this type
	// exist at once (one filling, the others uploading or waiting). Upload
	// workers release slots and never take p.mu, so waiting here while
	// holding p.mu cannot deadlock. Uploads stuck on a store that stopped
	// answering hold their slots until Close cancels them: the wait ends
	// with ctx.
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	// The pack is assembled in a region outside the Go heap, mapped for
	// the largest pack but resident only as far as it is written (tree
	// packs are often far smaller), and reused for later packs: no growth
	// copies, no garbage, no collector headroom on pack data.
	size := packSize
	if p.limit > 0 {
		size = min(size, p.limit)
	}
	size += trailerRoom
	var mem []byte
	select {
	case mem = <-p.free:
		if cap(mem) < size {
			bufpool.UnmapRegion(mem)
			mem = bufpool.MapRegion(size)
		}
	default:
		mem = bufpool.MapRegion(size)
	}
	op.mem, op.buf = mem, mem[:0]
	return op, nil
}

// recycle puts a finished or abandoned pack's region on the free list,
// before its memory slot is given back, so there are never more regions
// than slots. Each pack is recycled once, by its upload or by abandon. The
// pack's fields are left as they are: a pendingLoad that found the pack
// just before it was indexed may still read op.buf (under p.mu, which the
// upload side never takes), and a region is never unmapped while the
// repository is open, so that read copies stale bytes at worst, which
// then fail verification and the caller finds the blob in the index.
func (p *packer) recycle(op *openPack) {
	if op.mem == nil {
		return
	}
	select {
	case p.free <- op.mem:
	default: // cannot happen (see above); the region is then left mapped
	}
}

// unmapFree releases the idle regions; the caller guarantees no pack of
// this packer is in use any more (Close after the uploads finished).
func (p *packer) unmapFree() {
	for {
		select {
		case mem := <-p.free:
			bufpool.UnmapRegion(mem)
		default:
			return
		}
	}
}

// memPackLimit bounds packs built in memory (for remote stores, and tree
// packs). It was set for gocloud's s3blob, whose transfer manager sent an
// object under 16 MiB in one request but a larger one through pools of
// 8 MiB part buffers; cairn's own drivers send a pack of any size from its
// region in one request, so the limit now bounds what one in-memory pack,
// and so each of its Uploads+1 regions, can hold.
const memPackLimit = 15 << 20

// add appends a sealed blob to the current pack. It returns the pack if it
// is now full, and rolled: the previous pack when the blob did not fit under
// the packer's limit and went into a new one. The caller submits both.
func (p *packer) add(ctx context.Context, u *uploader, e pack.Entry, sealed []byte, packSize int) (full, rolled *openPack, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur != nil && p.limit > 0 && p.cur.size > 0 && p.cur.size+len(sealed) > p.limit {
		rolled, p.cur = p.cur, nil
	}
	if p.cur == nil {
		op, err := p.newPack(ctx, u, packSize)
		if err != nil {
			p.unreserve(e.ID)
			return nil, rolled, err
		}
		p.cur = op
	}
	cur := p.cur
	e.Offset, e.Length = uint32(cur.size), uint32(len(sealed))
	if cur.stream != nil {
		if err := cur.stream.Write(sealed); err != nil {
			// The pack file now has a gap or a torn write: it can never be
			// finished, and blobs already in it are lost. The caller drops
			// the pack and fails the handle.
			p.unreserve(e.ID)
			p.cur = nil
			return cur, rolled, &brokenPackError{err}
		}
	} else {
		cur.buf = append(cur.buf, sealed...)
	}
	cur.size += len(sealed)
	cur.entries = append(cur.entries, e)
	p.pendMu.Lock()
	p.pending[e.ID] = cur
	p.pendMu.Unlock()
	if cur.size >= packSize {
		p.cur = nil
		return cur, rolled, nil
	}
	return nil, rolled, nil
}

// brokenPackError reports a pack that failed mid-write; add returns the
// pack with it so the caller can drop it.
type brokenPackError struct{ err error }

func (e *brokenPackError) Error() string { return "pack write failed: " + e.err.Error() }
func (e *brokenPackError) Unwrap() error { return e.err }

// detach returns the current pack (possibly nil) for a flush.
func (p *packer) detach() *openPack {
	p.mu.Lock()
	defer p.mu.Unlock()
	cur := p.cur
	p.cur = nil
	return cur
}

// pendingLoad serves a blob that is saved but not yet indexed.
func (p *packer) pendingLoad(r *Repository, id ID) ([]byte, bool) {
	p.mu.Lock()
	p.pendMu.Lock()
	op := p.pending[id]
	p.pendMu.Unlock()
	var sealed []byte
	var e pack.Entry
	if op != nil && op.stream == nil {
		for _, x := range op.entries {
			if x.ID == id {
				e = x
				sealed = append([]byte(nil), op.buf[x.Offset:x.Offset+x.Length]...)
				break
			}
		}
	}
	p.mu.Unlock()
	if sealed == nil {
		return nil, false
	}
	data, err := r.OpenBlob(id, sealed, e.Compressed, e.RawLength)
	return data, err == nil
}

// pendingSize returns the plaintext size of a saved, unindexed blob.
func (p *packer) pendingSize(id ID) (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pendMu.Lock()
	op := p.pending[id]
	p.pendMu.Unlock()
	if op != nil {
		for _, e := range op.entries {
			if e.ID == id {
				return int(e.RawLength), true
			}
		}
	}
	return 0, false
}

// done forgets the pending blobs of an uploaded (now indexed) pack. The
// pack is no longer filling, so its entries are immutable.
func (p *packer) done(op *openPack) {
	p.pendMu.Lock()
	for _, e := range op.entries {
		if p.pending[e.ID] == op {
			delete(p.pending, e.ID)
		}
	}
	p.pendMu.Unlock()
}

// uploader uploads finished packs with bounded parallelism.
type uploader struct {
	r       *Repository
	ch      chan *openPack
	ctx     context.Context
	cancel  context.CancelFunc
	pending sync.WaitGroup // packs submitted and not yet finished
	workers sync.WaitGroup
	once    sync.Once

	mu        sync.Mutex
	closed    bool
	err       error
	unindexed []index.PackBlobs
}

func newUploader(r *Repository, n int) *uploader {
	u := &uploader{r: r, ch: make(chan *openPack)}
	u.ctx, u.cancel = context.WithCancel(context.Background())
	for range n {
		u.workers.Add(1)
		go func() {
			defer u.workers.Done()
			for op := range u.ch {
				u.upload(op)
				u.pending.Done()
			}
		}()
	}
	return u
}

// submit hands a full pack to a worker, waiting while all workers are busy.
func (u *uploader) submit(ctx context.Context, op *openPack) error {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		u.abandon(u.r.packers[op.entries[0].Type], op)
		err := ErrClosed
		u.fail(err)
		return err
	}
	u.pending.Add(1)
	u.mu.Unlock()
	select {
	case u.ch <- op:
		return nil
	case <-ctx.Done():
		// The pack held blobs that earlier SaveBlob calls reported as saved:
		// fail the handle so no Flush can succeed and no snapshot can refer
		// to them.
		u.abandon(u.r.packers[op.entries[0].Type], op)
		u.fail(fmt.Errorf("pack abandoned: %w", ctx.Err()))
		u.pending.Done()
		return ctx.Err()
	}
}

func (u *uploader) upload(op *openPack) {
	typ := op.entries[0].Type
	var err error
	if op.stream != nil {
		err = op.stream.Write(pack.AppendTrailer(u.r.key, nil, op.entries))
		if err == nil {
			err = op.stream.Close()
		} else {
			op.abort()
			_ = op.stream.Close()
		}
		op.abort()
	} else {
		data := pack.AppendTrailer(u.r.key, op.buf, op.entries)
		err = u.r.be.Put(u.ctx, PackKey(op.id), data)
		if errors.Is(err, backend.ErrExists) {
			err = nil // an earlier attempt of this Put succeeded
		}
	}
	if errors.Is(err, backend.ErrNotFound) {
		// On file:// a write finishes by renaming its temporary file; prune
		// removed that file because it sat idle longer than the grace period.
		err = prunedError(err)
	}
	if err == nil {
		u.r.idx.AddPack(op.id, op.entries)
	}
	p := u.r.packers[typ]
	p.done(op)
	if op.mem != nil {
		p.recycle(op)
		<-p.slots
	}
	if err != nil {
		u.fail(fmt.Errorf("upload pack: %w", err))
	} else {
		u.mu.Lock()
		u.unindexed = append(u.unindexed, index.PackBlobs{Pack: op.id, Blobs: op.entries})
		u.mu.Unlock()
	}
}

// abandon drops an unfinished pack (Close without Flush): its partial file
// is removed, nothing becomes visible.
func (u *uploader) abandon(p *packer, op *openPack) {
	p.done(op)
	if op.stream != nil {
		op.abort()
		_ = op.stream.Close()
	} else {
		p.recycle(op)
		<-p.slots
	}
}

// fail records the first error and cancels the uploads still running; the
// handle then refuses further work.
func (u *uploader) fail(err error) {
	u.mu.Lock()
	if u.err == nil {
		u.err = err
	}
	u.mu.Unlock()
	// Nothing this handle still uploads can be indexed now: stop the
	// uploads instead of letting them run on (on a store that stopped
	// answering, until Close).
	u.cancel()
}

func (u *uploader) failed() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err
}

// drain waits for all submitted packs and returns the packs not yet
// indexed. If ctx ends first, the uploads still running are cancelled and
// the handle fails: what they held can no longer be indexed.
func (u *uploader) drain(ctx context.Context) ([]index.PackBlobs, error) {
	done := make(chan struct{})
	go func() {
		u.pending.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		u.fail(fmt.Errorf("uploads abandoned: %w", context.Cause(ctx)))
		u.cancel()
		return nil, context.Cause(ctx)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	packs := u.unindexed
	u.unindexed = nil
	return packs, u.err
}

// close cancels the uploads still running (nothing flushed them, so
// their packs would stay unindexed anyway; a store that stopped answering
// must not keep the process alive) and waits for the workers to stop.
func (u *uploader) close() {
	u.once.Do(func() {
		u.mu.Lock()
		u.closed = true
		u.mu.Unlock()
		u.cancel()
		u.pending.Wait()
		close(u.ch)
		u.workers.Wait()
	})
}

// maxIndexBlobs bounds one index file so that loading stays streaming-friendly.
const maxIndexBlobs = 100000

// Flush finishes the open packs, waits for every upload and writes index
// files for the uploaded packs. After Flush returns nil, every blob saved
// before it is durable and findable by other processes.
func (r *Repository) Flush(ctx context.Context) error {
	for _, t := range []BlobType{DataBlob, TreeBlob} {
		if op := r.packers[t].detach(); op != nil {
			if err := r.up.submit(ctx, op); err != nil {
				return err
			}
		}
	}
	packs, err := r.up.drain(ctx)
	if err != nil {
		return err
	}
	// A pack that a prune condemned before it was indexed (as a leftover,
	// because this backup ran longer than the grace period) will be deleted:
	// indexing it would make its blobs look stored after the deletion.
	if _, err := r.RefreshPlans(ctx); err != nil {
		return err
	}
	for _, p := range packs {
		if r.idx.Excluded(p.Pack) {
			return prunedError(fmt.Errorf("pack %s was condemned before it was indexed", PackKey(p.Pack)))
		}
	}
	for len(packs) > 0 {
		n, blobs := 0, 0
		for n < len(packs) && (n == 0 || blobs+len(packs[n].Blobs) <= maxIndexBlobs) {
			blobs += len(packs[n].Blobs)
			n++
		}
		if _, err := r.SaveIndexFile(ctx, packs[:n]); err != nil {
			return err
		}
		packs = packs[n:]
	}
	return nil
}
