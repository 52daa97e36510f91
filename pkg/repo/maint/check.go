package maint

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"

	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/repo/pack"
)

// CheckOptions select how deep Check goes.
type CheckOptions struct {
	// ReadData downloads packs and verifies every blob in them.
	ReadData bool
	// ReadFraction in (0,1] limits ReadData to a random share of the packs;
	// 0 means all.
	ReadFraction float64
	// ReadSubset n/m (1 ≤ N ≤ M) limits ReadData to the packs whose first ID
	// byte modulo M is N-1, so M runs with N = 1..M read every pack once.
	SubsetN, SubsetM int
}

// Validate rejects a fraction outside (0,1] and a subset outside 1..M.
func (o CheckOptions) Validate() error {
	if o.ReadFraction < 0 || o.ReadFraction > 1 {
		return fmt.Errorf("read-data fraction %g must be between 0 and 1 (e.g. 0.1 for 10%%)", o.ReadFraction)
	}
	if o.SubsetM != 0 && (o.SubsetM < 1 || o.SubsetM > 256 || o.SubsetN < 1 || o.SubsetN > o.SubsetM) {
		return fmt.Errorf("read-data subset %d/%d must be n/m with 1 <= n <= m <= 256", o.SubsetN, o.SubsetM)
	}
	return nil
}

// Problem is one defect, naming the object at fault.
type Problem struct {
	Object  string `json:"object"`
	Message string `json:"message"`
}

// CheckResult summarises a check. The repository is healthy when Problems
// is empty; Notes are harmless findings (e.g. packs prune will remove).
type CheckResult struct {
	Snapshots int       `json:"snapshots"`
	Packs     int       `json:"packs"`
	PacksRead int       `json:"packs_read"`
	Blobs     int       `json:"blobs"`
	Problems  []Problem `json:"problems"`
	Notes     []string  `json:"notes,omitempty"`
}

func (c *CheckResult) add(object string, err error) {
	c.Problems = append(c.Problems, Problem{Object: object, Message: err.Error()})
}

// Check verifies the repository's structure: index files decode, every
// indexed pack exists and is large enough, every snapshot loads, every tree
// decodes and every blob a snapshot references is indexed. With ReadData it
// also downloads packs and verifies each blob's content against its ID.
func Check(ctx context.Context, r *repo.Repository, opts CheckOptions) (*CheckResult, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	res := &CheckResult{}
	checkIndexFiles(ctx, r, res)
	stored := map[repo.ID]backend.Object{}
	if err := r.ListPacks(ctx, func(id repo.ID, o backend.Object) error { stored[id] = o; return nil }); err != nil {
		return nil, err
	}
	contents := packContents(r)
	res.Packs = len(stored)
	for id, blobs := range contents {
		obj, ok := stored[id]
		if !ok {
			res.add(repo.PackKey(id), fmt.Errorf("pack is in the index but missing from storage (%d blobs lost)", len(blobs)))
			continue
		}
		for _, b := range blobs {
			if int64(b.loc.Offset)+int64(b.loc.Length) > obj.Size {
				res.add(repo.PackKey(id), fmt.Errorf("pack has %d bytes but the index places blob %s at %d+%d (truncated pack)", obj.Size, b.id.Short(), b.loc.Offset, b.loc.Length))
				break
			}
		}
		res.Blobs += len(blobs)
	}
	for id := range stored {
		if _, ok := contents[id]; !ok {
			res.Notes = append(res.Notes, fmt.Sprintf("%s is not indexed (left by an interrupted backup; prune removes it)", repo.PackKey(id)))
		}
	}
	checkSnapshots(ctx, r, res)
	if opts.ReadData {
		ids := make([]repo.ID, 0, len(stored))
		for id := range stored {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
		if opts.SubsetM > 0 {
			var subset []repo.ID
			for _, id := range ids {
				if int(id[0])%opts.SubsetM == opts.SubsetN-1 {
					subset = append(subset, id)
				}
			}
			ids = subset
		}
		if opts.ReadFraction > 0 && opts.ReadFraction < 1 {
			rand.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
			n := max(1, int(float64(len(ids))*opts.ReadFraction+0.5))
			ids = ids[:min(n, len(ids))]
		}
		for _, id := range ids {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			if err := readPack(ctx, r, id, contents[id]); err != nil {
				res.add(repo.PackKey(id), err)
			}
			res.PacksRead++
		}
	}
	return res, nil
}

func checkIndexFiles(ctx context.Context, r *repo.Repository, res *CheckResult) {
	for _, err := range r.IndexErrors() {
		res.add("index", err)
	}
	ids, err := r.ListIDs(ctx, repo.IndexPrefix)
	if err != nil {
		res.add("index/", err)
		return
	}
	loaded := map[repo.ID]bool{}
	for _, id := range r.IndexFiles() {
		loaded[id] = true
	}
	for _, id := range ids {
		if !loaded[id] {
			if _, err := r.LoadIndexFile(ctx, id); err != nil {
				res.add(repo.IndexPrefix+id.String(), err)
			}
		}
	}
}

func checkSnapshots(ctx context.Context, r *repo.Repository, res *CheckResult) {
	ids, err := r.ListIDs(ctx, repo.SnapshotsPrefix)
	if err != nil {
		res.add("snapshots/", err)
		return
	}
	seen := map[repo.ID]struct{}{}
	reported := map[repo.ID]bool{}
	for _, id := range ids {
		name := repo.SnapshotsPrefix + id.String()
		sn, err := r.LoadSnapshot(ctx, id)
		if err != nil {
			res.add(name, err)
			continue
		}
		res.Snapshots++
		err = r.Walk(ctx, sn.Tree, seen, func(t repo.BlobType, b repo.ID) error {
			if t == repo.DataBlob {
				if _, ok := r.BlobSize(t, b); !ok && !reported[b] {
					reported[b] = true
					res.add(name, fmt.Errorf("data blob %s is referenced but not in the index", b))
				}
			}
			return nil
		})
		if err != nil {
			res.add(name, err)
		}
	}
}

// readPack downloads a pack and verifies its header and every blob; every
// byte of a pack is covered by a blob's or the header's authentication tag.
func readPack(ctx context.Context, r *repo.Repository, id repo.ID, indexed []blobRef) error {
	data, err := r.Backend().Get(ctx, repo.PackKey(id))
	if err != nil {
		return err
	}
	entries, err := pack.ParseTail(r.Key(), data, int64(len(data)))
	if err != nil {
		return fmt.Errorf("%w: %w", repo.ErrCorrupt, err)
	}
	inPack := map[repo.ID]pack.Entry{}
	for _, e := range entries {
		inPack[e.ID] = e
		sealed := data[e.Offset : e.Offset+e.Length]
		if _, err := r.OpenBlob(e.ID, sealed, e.Compressed, e.RawLength); err != nil {
			return fmt.Errorf("%w: %s blob %s: %w", repo.ErrCorrupt, e.Type, e.ID, err)
		}
	}
	for _, b := range indexed {
		e, ok := inPack[b.id]
		if !ok || e.Offset != b.loc.Offset || e.Length != b.loc.Length {
			return fmt.Errorf("%w: index entry for blob %s does not match the pack header", repo.ErrCorrupt, b.id)
		}
	}
	return nil
}
