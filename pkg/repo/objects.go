package repo

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sync"

	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/repo/ident"
	"github.com/cairnbackup/cairn/pkg/repo/index"
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

// LoadIndex reads every index file into memory, four at a time. Files that
// cannot be read are skipped and reported by IndexErrors; their packs then
// look unindexed, so a backup stores their blobs again (safe), and prune
// refuses to run until check has been looked at.
func (r *Repository) LoadIndex(ctx context.Context) error {
	ids, err := r.ListIDs(ctx, IndexPrefix)
	if err != nil {
		return fmt.Errorf("load index: %w", err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, 4)
	)
	for _, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			packs, err := r.LoadIndexFile(ctx, id)
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			for _, p := range packs {
				r.idx.AddPack(p.Pack, p.Blobs)
			}
		}()
	}
	wg.Wait()
	r.idx.Compact()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	r.planMu.Lock()
	r.indexErrs = errs
	r.planMu.Unlock()
	return nil
}

// IndexErrors returns the index files that could not be loaded by Open.
func (r *Repository) IndexErrors() []error {
	r.planMu.Lock()
	defer r.planMu.Unlock()
	return append([]error(nil), r.indexErrs...)
}
