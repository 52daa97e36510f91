package repo

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/repo/crypto"
	"github.com/cairnbackup/cairn/pkg/repo/ident"
	"github.com/cairnbackup/cairn/pkg/repo/index"
	"github.com/cairnbackup/cairn/pkg/repo/pack"
	"github.com/zeebo/blake3"
)

// Object name prefixes.
const (
	PacksPrefix     = "data/"
	IndexPrefix     = "index/"
	SnapshotsPrefix = "snapshots/"
	PlansPrefix     = "plans/"
)

// PackKey returns the object name of a pack: data/<first 2 hex>/<hex ID>.
func PackKey(id ID) string {
	s := id.String()
	return PacksPrefix + s[:2] + "/" + s
}

// saveSealed seals plain and stores it under prefix + the BLAKE3 hash of the
// stored bytes, so the name verifies the content.
func (r *Repository) saveSealed(ctx context.Context, prefix string, plain []byte) (ID, error) {
	sealed := r.key.Seal(nil, plain)
	id := ID(blake3.Sum256(sealed))
	err := r.be.Put(ctx, prefix+id.String(), sealed)
	if err != nil && !errors.Is(err, backend.ErrExists) {
		return ID{}, err
	}
	return id, nil
}

// LoadSealed reads the object prefix+id, checks it against its name and
// decrypts it. Damage is reported as ErrCorrupt naming the object.
func (r *Repository) LoadSealed(ctx context.Context, prefix string, id ID) ([]byte, error) {
	name := prefix + id.String()
	sealed, err := r.be.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	if ID(blake3.Sum256(sealed)) != id {
		return nil, fmt.Errorf("%s: %w: content does not match its name", name, ErrCorrupt)
	}
	plain, err := r.key.Open(nil, sealed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", name, ErrCorrupt, err)
	}
	return plain, nil
}

// ListIDs lists the IDs of the objects under prefix (index/, snapshots/,
// plans/ or data/), skipping names that are not IDs.
func (r *Repository) ListIDs(ctx context.Context, prefix string) ([]ID, error) {
	var ids []ID
	err := r.be.List(ctx, prefix, func(o backend.Object) error {
		if id, err := ident.Parse(path.Base(o.Key)); err == nil {
			ids = append(ids, id)
		}
		return nil
	})
	return ids, err
}

// SaveIndexFile writes one index file describing packs.
func (r *Repository) SaveIndexFile(ctx context.Context, packs []index.PackBlobs) (ID, error) {
	id, err := r.saveSealed(ctx, IndexPrefix, index.EncodeFile(packs))
	if err != nil {
		return ID{}, fmt.Errorf("write index: %w", err)
	}
	r.planMu.Lock()
	r.indexFiles[id] = packIDs(packs)
	r.planMu.Unlock()
	return id, nil
}

// LoadIndexFile reads and decodes one index file.
func (r *Repository) LoadIndexFile(ctx context.Context, id ID) ([]index.PackBlobs, error) {
	plain, err := r.LoadSealed(ctx, IndexPrefix, id)
	if err != nil {
		return nil, err
	}
	packs, err := index.DecodeFile(plain)
	if err != nil {
		return nil, fmt.Errorf("%s%s: %w: %w", IndexPrefix, id, ErrCorrupt, err)
	}
	return packs, nil
}

// LoadIndex reads every index file not loaded yet into memory, four at a
// time; calling it again picks up index files written since. Files that
// cannot be read are skipped and reported by IndexErrors; their packs then
// look unindexed, so a backup stores their blobs again (safe), and prune
// refuses to run. A file that vanished while loading (a prune replaced it)
// triggers a fresh listing, which finds its replacement.
func (r *Repository) LoadIndex(ctx context.Context) error {
	var errs []error
	for round := 0; round < 3; round++ {
		ids, err := r.ListIDs(ctx, IndexPrefix)
		if err != nil {
			return fmt.Errorf("load index: %w", err)
		}
		var todo []ID
		r.planMu.Lock()
		for _, id := range ids {
			if _, ok := r.indexFiles[id]; !ok {
				todo = append(todo, id)
			}
		}
		r.planMu.Unlock()
		var vanished bool
		errs, vanished = r.loadIndexFiles(ctx, todo)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !vanished {
			break
		}
	}
	r.idx.Compact()
	r.planMu.Lock()
	r.indexErrs = errs
	r.planMu.Unlock()
	return nil
}

func (r *Repository) loadIndexFiles(ctx context.Context, ids []ID) (errs []error, vanished bool) {
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		sem = make(chan struct{}, 4)
	)
	for _, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			packs, err := r.LoadIndexFile(ctx, id)
			mu.Lock()
			defer mu.Unlock()
			if errors.Is(err, backend.ErrNotFound) {
				vanished = true
				return
			}
			if err != nil {
				errs = append(errs, err)
				return
			}
			for _, p := range packs {
				r.idx.AddBulk(p.Pack, p.Blobs)
			}
			r.planMu.Lock()
			r.indexFiles[id] = packIDs(packs)
			r.planMu.Unlock()
		}()
	}
	wg.Wait()
	return errs, vanished
}

// IndexFiles returns the index files loaded into memory so far.
func (r *Repository) IndexFiles() []ID {
	r.planMu.Lock()
	defer r.planMu.Unlock()
	out := make([]ID, 0, len(r.indexFiles))
	for id := range r.indexFiles {
		out = append(out, id)
	}
	return out
}

// IndexFilePacks returns, for each index file loaded or written so far,
// the packs it describes: prune rewrites only the files that describe a
// pack it deletes.
func (r *Repository) IndexFilePacks() map[ID][]ID {
	r.planMu.Lock()
	defer r.planMu.Unlock()
	out := make(map[ID][]ID, len(r.indexFiles))
	for id, packs := range r.indexFiles {
		out[id] = packs
	}
	return out
}

func packIDs(packs []index.PackBlobs) []ID {
	ids := make([]ID, len(packs))
	for i, p := range packs {
		ids[i] = p.Pack
	}
	return ids
}

// ForgetIndexFile records that an index file was deleted (by prune).
func (r *Repository) ForgetIndexFile(id ID) {
	r.planMu.Lock()
	delete(r.indexFiles, id)
	r.planMu.Unlock()
}

// IndexErrors returns the index files that could not be loaded by Open.
func (r *Repository) IndexErrors() []error {
	r.planMu.Lock()
	defer r.planMu.Unlock()
	return append([]error(nil), r.indexErrs...)
}

// PackEntries reads the header of a stored pack of the given size (two
// ranged reads) and returns its entries.
func (r *Repository) PackEntries(ctx context.Context, id ID, size int64) ([]pack.Entry, error) {
	name := PackKey(id)
	if size < pack.TrailerSize+crypto.Overhead {
		return nil, fmt.Errorf("%s: %w: %d bytes is too short for a pack", name, ErrCorrupt, size)
	}
	trailer, err := r.be.GetRange(ctx, name, size-pack.TrailerSize, pack.TrailerSize)
	if err != nil {
		return nil, err
	}
	hl, err := pack.HeaderLength(trailer, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", name, ErrCorrupt, err)
	}
	tail, err := r.be.GetRange(ctx, name, size-pack.TrailerSize-hl, hl+pack.TrailerSize)
	if err != nil {
		return nil, err
	}
	entries, err := pack.ParseTail(r.key, tail, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", name, ErrCorrupt, err)
	}
	return entries, nil
}

// ListPacks lists the packs in storage with their sizes and times.
func (r *Repository) ListPacks(ctx context.Context, fn func(id ID, o backend.Object) error) error {
	return r.be.List(ctx, PacksPrefix, func(o backend.Object) error {
		id, err := ident.Parse(path.Base(o.Key))
		if err != nil || PackKey(id) != o.Key {
			return nil // not a pack name; check reports strays separately
		}
		return fn(id, o)
	})
}

// ListStaleTemporary lists temporary pack files (file:// only) last
// written before cutoff: debris of processes killed while writing a pack.
func (r *Repository) ListStaleTemporary(ctx context.Context, cutoff time.Time) ([]string, error) {
	var out []string
	err := r.be.ListTemporary(ctx, PacksPrefix, func(o backend.Object) error {
		if !o.ModTime.IsZero() && o.ModTime.Before(cutoff) {
			out = append(out, o.Key)
		}
		return nil
	})
	return out, err
}

// DeleteObject removes a stored object by name (prune only).
func (r *Repository) DeleteObject(ctx context.Context, name string) error {
	return r.be.Delete(ctx, name)
}
