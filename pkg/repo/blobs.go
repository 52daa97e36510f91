package repo

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairnbackup/cairn/pkg/bufpool"
	"github.com/cairnbackup/cairn/pkg/repo/crypto"
	"github.com/cairnbackup/cairn/pkg/repo/index"
	"github.com/cairnbackup/cairn/pkg/repo/pack"
)

// Has reports whether a blob is stored or about to be stored (in a pack
// that is filling or uploading). Blobs only present in packs condemned by a
// prune plan count as absent, so a new backup stores them again rather than
// depending on data that is about to be deleted.
func (r *Repository) Has(t BlobType, id ID) bool {
	if r.idx.Has(t, id) {
		return true
	}
	return r.packers[validType(t)].pendingHas(id)
}

func validType(t BlobType) BlobType {
	if t.Valid() {
		return t
	}
	return DataBlob
}

// SaveBlob stores data as a blob of type t under id, which must be
// r.Hash(data). If the blob is already stored it returns 0 and does nothing
// (dedup). Otherwise it compresses and encrypts in the caller's goroutine —
// so calling it from many goroutines uses many cores — appends the result to
// the open pack of that type and returns the stored size. Finished packs are
// uploaded in the background; when Uploads packs are already on their way
// SaveBlob waits, which bounds memory. Data is durable only after Flush.
func (r *Repository) SaveBlob(ctx context.Context, t BlobType, id ID, data []byte) (int, error) {
	if !t.Valid() {
		return 0, fmt.Errorf("save blob: invalid blob type %d", t)
	}
	if len(data) > maxBlobSize {
		return 0, fmt.Errorf("save blob: %d bytes exceeds the %d-byte blob limit; cut the data into smaller chunks", len(data), maxBlobSize)
	}
	if err := r.up.failed(); err != nil {
		return 0, err
	}
	if r.idx.Has(t, id) {
		return 0, nil
	}
	p := r.packers[t]
	if !p.reserve(id) {
		return 0, nil // another goroutine is saving the same blob
	}
	n, err := r.storeReserved(ctx, p, pack.Entry{Type: t, ID: id, RawLength: uint32(len(data))}, data)
	if err != nil {
		// Other goroutines saw the reservation and skipped this blob as
		// saved: the handle must not let a snapshot refer to it.
		err = fmt.Errorf("save blob %s: %w", id.Short(), err)
		r.up.fail(err)
		return 0, err
	}
	return n, nil
}

// sealSize is the buffer a blob is compressed and sealed into: at least its
// length plus the AEAD envelope, and the capacity of data itself when that
// is not much more (a chunk buffer of the backup pipeline), so both come
// from one pool class. A caller's slice with a far larger capacity does
// not make a far larger buffer.
func sealSize(data []byte) int {
	n := len(data) + crypto.Overhead
	if c := cap(data); c > n && c <= 4*n {
		return c
	}
	return n
}

// storeReserved compresses, seals and packs a blob reserved by SaveBlob.
// The blob is compressed into a pooled buffer, leaving room in front for
// the nonce and behind for the tag, and sealed where it lies; data that
// does not compress is sealed into the same buffer. The buffer is as large
// as data's own (a chunk buffer from the same pool), so in a backup one
// size class serves both and the pool keeps fewer kinds of idle buffers.
// It goes back to the pool once the pack has copied (or written) it.
func (r *Repository) storeReserved(ctx context.Context, p *packer, e pack.Entry, data []byte) (int, error) {
	buf := bufpool.Shared.Get(sealSize(data))
	out, compressed, err := compress(buf[:crypto.Headroom], data)
	if err != nil {
		p.unreserve(e.ID)
		bufpool.Shared.Put(buf)
		return 0, err
	}
	var sealed []byte
	if compressed && cap(out) == cap(buf) {
		e.Compressed = true
		sealed = r.key.SealInPlace(out)
	} else {
		// Incompressible, or the compressor outgrew buf (then out is
		// its own garbage): seal the plain data into buf.
		sealed = r.key.Seal(buf[:0], data)
	}
	n := len(sealed)
	full, rolled, err := p.add(ctx, r.up, e, sealed, r.opts.PackSize)
	bufpool.Shared.Put(buf)
	if rolled != nil {
		if err := r.up.submit(ctx, rolled); err != nil {
			return 0, err
		}
	}
	var broken *brokenPackError
	if errors.As(err, &broken) {
		r.up.abandon(p, full)
		return 0, err
	}
	if err != nil {
		return 0, err
	}
	if full != nil {
		if err := r.up.submit(ctx, full); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// LoadBlob reads, decrypts, decompresses and verifies a blob. A blob whose
// content does not hash to id is refused with ErrCorrupt naming the pack.
func (r *Repository) LoadBlob(ctx context.Context, t BlobType, id ID) ([]byte, error) {
	if t == TreeBlob {
		if data, ok := r.trees.get(id); ok {
			return data, nil
		}
		if loc, ok := r.idx.Lookup(t, id); ok {
			r.readAheadTrees(ctx, loc)
			if data, ok := r.trees.get(id); ok {
				return data, nil
			}
		}
	}
	locs := r.idx.LookupAll(t, id)
	if len(locs) == 0 {
		if data, ok := r.packers[validType(t)].pendingLoad(r, id); ok {
			return data, nil
		}
		// Its pack may have been uploaded and indexed (and its memory
		// reused) while we looked.
		if locs = r.idx.LookupAll(t, id); len(locs) == 0 {
			return nil, fmt.Errorf("load %s blob %s: %w", t, id, ErrBlobNotFound)
		}
	}
	var firstErr error
	for _, loc := range locs { // try each stored copy
		sealed, err := r.be.GetRange(ctx, PackKey(loc.Pack), int64(loc.Offset), int64(loc.Length))
		if err == nil {
			var data []byte
			data, err = r.OpenBlob(id, sealed, loc.Compressed, loc.RawLength)
			if err == nil {
				if t == TreeBlob {
					r.trees.add(id, data)
				}
				return data, nil
			}
			err = fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("load %s blob %s from pack %s: %w", t, id, PackKey(loc.Pack), err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, firstErr
}

// OpenBlob turns a blob's stored bytes back into verified plaintext (used
// by LoadBlob and by check --read-data on whole packs). sealed is not
// changed; a compressed blob is decrypted into a pooled scratch buffer.
func (r *Repository) OpenBlob(id ID, sealed []byte, compressed bool, rawLen uint32) ([]byte, error) {
	if !compressed {
		plain, err := r.key.Open(nil, sealed)
		if err != nil {
			return nil, err
		}
		return r.verifyBlob(nil, id, plain, false, rawLen)
	}
	scratch := bufpool.Shared.Get(len(sealed))
	defer bufpool.Shared.Put(scratch)
	plain, err := r.key.Open(scratch, sealed)
	if err != nil {
		return nil, err
	}
	return r.verifyBlob(nil, id, plain, true, rawLen)
}

// OpenBlobInPlace is OpenBlob for a caller that owns sealed and no longer
// needs it: the blob is decrypted where it lies, so an uncompressed blob's
// plaintext is returned inside sealed's memory and a compressed one is
// decompressed into dst (when its capacity holds rawLen bytes), with no
// scratch buffer at all. sealed's bytes are overwritten, also when opening
// fails.
func (r *Repository) OpenBlobInPlace(dst []byte, id ID, sealed []byte, compressed bool, rawLen uint32) ([]byte, error) {
	plain, err := r.key.OpenInPlace(sealed)
	if err != nil {
		return nil, err
	}
	return r.verifyBlob(dst, id, plain, compressed, rawLen)
}

// verifyBlob turns a decrypted blob into its plaintext (decompressing into
// dst when compressed), checks its length against the index and its content
// against its ID.
func (r *Repository) verifyBlob(dst []byte, id ID, plain []byte, compressed bool, rawLen uint32) ([]byte, error) {
	var err error
	if compressed {
		if plain, err = decompressTo(dst, plain, rawLen); err != nil {
			return nil, err
		}
	} else if uint32(len(plain)) != rawLen {
		return nil, fmt.Errorf("blob has %d bytes, index says %d", len(plain), rawLen)
	}
	if got := r.Hash(plain); got != id {
		return nil, errors.New("content does not match its ID")
	}
	return plain, nil
}

// LocateBlob returns where a blob is stored (for check and stats).
func (r *Repository) LocateBlob(t BlobType, id ID) (index.Location, bool) {
	return r.idx.Lookup(t, id)
}

// BlobSize returns the plaintext length of a stored blob from the index,
// without reading it (the restorer uses it to place chunks).
func (r *Repository) BlobSize(t BlobType, id ID) (int, bool) {
	if loc, ok := r.idx.Lookup(t, id); ok {
		return int(loc.RawLength), true
	}
	locs := r.idx.LookupAll(t, id)
	if len(locs) > 0 {
		return int(locs[0].RawLength), true
	}
	return r.packers[validType(t)].pendingSize(id)
}
