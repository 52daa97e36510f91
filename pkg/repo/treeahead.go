package repo

import (
	"context"
	"sort"
	"sync"

	"github.com/cairnbackup/cairn/pkg/repo/index"
)

// treeReadAhead is how far around a requested tree blob LoadBlob reads the
// same pack: a walk (incremental backup, restore, check) needs most tree
// blobs of a pack, and one ranged read replaces hundreds.
const treeReadAhead = 1 << 20

// treePacks maps each pack to its tree blobs in offset order. It is built
// once, from the index as loaded when the first tree blob is missed; tree
// blobs indexed later simply load one by one.
type treePacks struct {
	once   sync.Once
	byPack map[ID][]packedTree
}

type packedTree struct {
	id  ID
	loc index.Location
}

func (r *Repository) treePackEntries(pack ID) []packedTree {
	r.treeIdx.once.Do(func() {
		m := map[ID][]packedTree{}
		r.idx.Each(func(t BlobType, id ID, loc index.Location) {
			if t == TreeBlob {
				m[loc.Pack] = append(m[loc.Pack], packedTree{id, loc})
			}
		})
		for _, es := range m {
			sort.Slice(es, func(i, j int) bool { return es[i].loc.Offset < es[j].loc.Offset })
		}
		r.treeIdx.byPack = m
	})
	return r.treeIdx.byPack[pack]
}

// readAheadTrees reads the tree blobs stored within treeReadAhead bytes of
// loc in one ranged read, verifies each and puts them in the tree cache.
// Errors are ignored: LoadBlob then loads the requested blob on its own and
// reports any problem with it.
func (r *Repository) readAheadTrees(ctx context.Context, loc index.Location) {
	entries := r.treePackEntries(loc.Pack)
	lo, hi := int64(loc.Offset)-treeReadAhead, int64(loc.Offset)+int64(loc.Length)+treeReadAhead
	var sel []packedTree
	for _, e := range entries {
		if int64(e.loc.Offset) >= lo && int64(e.loc.Offset)+int64(e.loc.Length) <= hi {
			sel = append(sel, e)
		}
	}
	if len(sel) < 2 {
		return
	}
	start := int64(sel[0].loc.Offset)
	last := sel[len(sel)-1].loc
	buf, err := r.be.GetRange(ctx, PackKey(loc.Pack), start, int64(last.Offset)+int64(last.Length)-start)
	if err != nil {
		return
	}
	for _, e := range sel {
		if _, ok := r.trees.get(e.id); ok {
			continue
		}
		off := int64(e.loc.Offset) - start
		data, err := r.OpenBlob(e.id, buf[off:off+int64(e.loc.Length)], e.loc.Compressed, e.loc.RawLength)
		if err == nil {
			r.trees.add(e.id, data)
		}
	}
}
