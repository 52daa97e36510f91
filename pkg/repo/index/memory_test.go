package index

import (
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo/ident"
	"github.com/cairnbackup/cairn/pkg/repo/pack"
)

// The in-memory index must stay compact for millions of blobs: after
// compaction a blob costs its 48-byte entry plus little slack.
func TestIndexMemoryPerBlob(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates ~100 MB")
	}
	const blobs = 1 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	x := New()
	batch := make([]pack.Entry, 0, 64)
	for i := 0; i < blobs; i++ {
		var id ident.ID
		binary.LittleEndian.PutUint64(id[:], uint64(i)*0x9E3779B97F4A7C15)
		binary.LittleEndian.PutUint64(id[8:], uint64(i))
		batch = append(batch, pack.Entry{Type: ident.DataBlob, ID: id, Offset: uint32(i), Length: 100, RawLength: 90})
		if len(batch) == cap(batch) {
			var p ident.ID
			binary.LittleEndian.PutUint64(p[:], uint64(i))
			if i%2 == 0 {
				x.AddPack(p, batch)
			} else {
				x.AddBulk(p, batch)
			}
			batch = batch[:0]
		}
	}
	x.Compact()
	runtime.GC()
	runtime.ReadMemStats(&after)
	perBlob := float64(after.HeapAlloc-before.HeapAlloc) / blobs
	t.Logf("%.1f bytes per blob (%d blobs, 64 per pack)", perBlob, blobs)
	if perBlob > 64 {
		t.Fatalf("index uses %.1f bytes per blob, want at most 64 (48-byte entries plus pack table)", perBlob)
	}
	var probe ident.ID
	n := uint64(777)
	binary.LittleEndian.PutUint64(probe[:], n*0x9E3779B97F4A7C15)
	binary.LittleEndian.PutUint64(probe[8:], 777)
	if loc, ok := x.Lookup(ident.DataBlob, probe); !ok || loc.Offset != 777 {
		t.Fatalf("lookup after compaction: %+v %v", loc, ok)
	}
	runtime.KeepAlive(x)
}
