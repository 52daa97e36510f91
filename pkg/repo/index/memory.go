package index

import (
	"slices"
	"sync"

	"github.com/cairnbackup/cairn/pkg/repo/ident"
	"github.com/cairnbackup/cairn/pkg/repo/pack"
)

// Location says where a blob is stored.
type Location struct {
	Pack       ident.ID
	Offset     uint32
	Length     uint32
	RawLength  uint32
	Compressed bool
}

// entry is the compact in-memory form: 48 bytes, pack named by number.
type entry struct {
	id     ident.ID
	pack   uint32
	offset uint32
	length uint32
	raw    uint32 // bit 31: compressed
}

const compressedBit = 1 << 31

// Index maps blob IDs to locations. Entries loaded from index files sit in
// sorted arrays (binary search, no per-entry pointers); entries added later
// go to a small map that Compact merges in. A blob may be stored in several
// packs (two backups raced to save it); lookups return a copy in a pack that
// is not excluded. Index is safe for concurrent use.
type Index struct {
	mu       sync.RWMutex
	packs    []ident.ID
	packNum  map[ident.ID]uint32
	excluded map[uint32]bool
	sorted   [3][]entry              // by blob type
	fresh    [3]map[ident.ID][]entry // added since the last Compact
	nfresh   int
	bulk     [3][]entry // added by AddBulk, invisible until Compact
}

// New returns an empty index.
func New() *Index {
	idx := &Index{packNum: map[ident.ID]uint32{}, excluded: map[uint32]bool{}}
	for i := range idx.fresh {
		idx.fresh[i] = map[ident.ID][]entry{}
	}
	return idx
}

func (x *Index) packNumber(p ident.ID) uint32 {
	n, ok := x.packNum[p]
	if !ok {
		n = uint32(len(x.packs))
		x.packs = append(x.packs, p)
		x.packNum[p] = n
	}
	return n
}

// AddPack records the blobs of one pack.
func (x *Index) AddPack(p ident.ID, blobs []pack.Entry) {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := x.packNumber(p)
	for _, b := range blobs {
		e := newEntry(n, b)
		x.fresh[b.Type][b.ID] = append(x.fresh[b.Type][b.ID], e)
		x.nfresh++
	}
	if x.nfresh > 1<<16 {
		x.compactLocked()
	}
}

// AddBulk records the blobs of one pack for loading many index files: the
// entries are not visible to lookups until the next Compact, which sorts
// them all at once (instead of merging every 65,536 entries).
func (x *Index) AddBulk(p ident.ID, blobs []pack.Entry) {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := x.packNumber(p)
	for _, b := range blobs {
		x.bulk[b.Type] = append(x.bulk[b.Type], newEntry(n, b))
	}
}

func newEntry(pack uint32, b pack.Entry) entry {
	e := entry{id: b.ID, pack: pack, offset: b.Offset, length: b.Length, raw: b.RawLength}
	if b.Compressed {
		e.raw |= compressedBit
	}
	return e
}

// Compact merges recently added entries into the sorted arrays.
func (x *Index) Compact() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.compactLocked()
}

func cmpEntry(a, b entry) int { return ident.Compare(a.id, b.id) }

func (x *Index) compactLocked() {
	for t := range x.fresh {
		if len(x.fresh[t]) == 0 && len(x.bulk[t]) == 0 {
			continue
		}
		b := x.bulk[t]
		x.bulk[t] = nil
		for _, es := range x.fresh[t] {
			b = append(b, es...)
		}
		slices.SortFunc(b, cmpEntry)
		merged := make([]entry, 0, len(x.sorted[t])+len(b))
		a := x.sorted[t]
		for len(a) > 0 && len(b) > 0 {
			if cmpEntry(a[0], b[0]) <= 0 {
				merged, a = append(merged, a[0]), a[1:]
			} else {
				merged, b = append(merged, b[0]), b[1:]
			}
		}
		merged = append(append(merged, a...), b...)
		x.sorted[t] = merged
		x.fresh[t] = map[ident.ID][]entry{}
	}
	x.nfresh = 0
}

// Exclude hides every blob copy stored in the given packs from Lookup and
// Has: the repository uses it for packs a prune plan has condemned, so that
// new backups store such blobs afresh instead of depending on them.
func (x *Index) Exclude(packs []ident.ID) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, p := range packs {
		x.excluded[x.packNumber(p)] = true
	}
}

// Excluded reports whether a pack's blobs are hidden by Exclude.
func (x *Index) Excluded(p ident.ID) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n, ok := x.packNum[p]
	return ok && x.excluded[n]
}

func (x *Index) loc(e entry) Location {
	return Location{Pack: x.packs[e.pack], Offset: e.offset, Length: e.length,
		RawLength: e.raw &^ compressedBit, Compressed: e.raw&compressedBit != 0}
}

// Lookup returns a location of the blob outside excluded packs.
func (x *Index) Lookup(t ident.BlobType, id ident.ID) (Location, bool) {
	var found Location
	ok := false
	x.each(t, id, func(e entry) bool {
		if x.excluded[e.pack] {
			return true
		}
		found, ok = x.loc(e), true
		return false
	})
	return found, ok
}

// LookupAll returns every stored copy of the blob, excluded packs included
// (used by check and prune).
func (x *Index) LookupAll(t ident.BlobType, id ident.ID) []Location {
	var out []Location
	x.each(t, id, func(e entry) bool { out = append(out, x.loc(e)); return true })
	return out
}

// Has reports whether the blob is stored in a pack that is not excluded.
func (x *Index) Has(t ident.BlobType, id ident.ID) bool {
	_, ok := x.Lookup(t, id)
	return ok
}

func (x *Index) each(t ident.BlobType, id ident.ID, fn func(entry) bool) {
	if !t.Valid() {
		return
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	s := x.sorted[t]
	i, _ := slices.BinarySearchFunc(s, id, func(e entry, id ident.ID) int { return ident.Compare(e.id, id) })
	for ; i < len(s) && s[i].id == id; i++ {
		if !fn(s[i]) {
			return
		}
	}
	for _, e := range x.fresh[t][id] {
		if !fn(e) {
			return
		}
	}
}

// Count returns the number of blob copies of type t in the index.
func (x *Index) Count(t ident.BlobType) int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := len(x.sorted[t])
	for _, es := range x.fresh[t] {
		n += len(es)
	}
	return n
}

// Each calls fn for every blob copy, type by type in ID order (after a
// Compact). Do not modify the index from fn.
func (x *Index) Each(fn func(t ident.BlobType, id ident.ID, loc Location)) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for _, t := range []ident.BlobType{ident.DataBlob, ident.TreeBlob} {
		for _, e := range x.sorted[t] {
			fn(t, e.id, x.loc(e))
		}
		for _, es := range x.fresh[t] {
			for _, e := range es {
				fn(t, e.id, x.loc(e))
			}
		}
	}
}

// Packs returns the IDs of all packs the index knows.
func (x *Index) Packs() []ident.ID {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return slices.Clone(x.packs)
}
