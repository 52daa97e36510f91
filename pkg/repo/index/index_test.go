package index

import (
	"reflect"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo/ident"
	"github.com/cairnbackup/cairn/pkg/repo/pack"
)

func samplePacks() []PackBlobs {
	return []PackBlobs{
		{Pack: ident.ID{0xaa}, Blobs: []pack.Entry{
			{Type: ident.DataBlob, ID: ident.ID{1}, Offset: 0, Length: 100, RawLength: 90},
			{Type: ident.TreeBlob, ID: ident.ID{2}, Offset: 100, Length: 40, RawLength: 200, Compressed: true},
		}},
		{Pack: ident.ID{0xbb}, Blobs: []pack.Entry{
			{Type: ident.DataBlob, ID: ident.ID{1}, Offset: 7, Length: 100, RawLength: 90},
		}},
	}
}

func TestFileRoundTrip(t *testing.T) {
	got, err := DecodeFile(EncodeFile(samplePacks()))
	if err != nil || !reflect.DeepEqual(got, samplePacks()) {
		t.Fatalf("round trip: %v %+v", err, got)
	}
	enc := EncodeFile(samplePacks())
	for n := 0; n < len(enc); n++ {
		if _, err := DecodeFile(enc[:n]); err == nil {
			t.Fatalf("truncated index (%d of %d bytes) accepted", n, len(enc))
		}
	}
}

func TestMemoryIndex(t *testing.T) {
	x := New()
	for _, p := range samplePacks() {
		x.AddPack(p.Pack, p.Blobs)
	}
	for round := 0; round < 2; round++ { // before and after Compact
		if !x.Has(ident.DataBlob, ident.ID{1}) || !x.Has(ident.TreeBlob, ident.ID{2}) {
			t.Fatal("missing blobs")
		}
		if x.Has(ident.TreeBlob, ident.ID{1}) || x.Has(ident.DataBlob, ident.ID{3}) {
			t.Fatal("phantom blobs")
		}
		if n := len(x.LookupAll(ident.DataBlob, ident.ID{1})); n != 2 {
			t.Fatalf("%d copies of blob 1, want 2", n)
		}
		loc, _ := x.Lookup(ident.TreeBlob, ident.ID{2})
		if loc.Pack != (ident.ID{0xaa}) || !loc.Compressed || loc.RawLength != 200 || loc.Offset != 100 {
			t.Fatalf("bad location %+v", loc)
		}
		x.Compact()
	}
	x.Exclude([]ident.ID{{0xaa}})
	if loc, ok := x.Lookup(ident.DataBlob, ident.ID{1}); !ok || loc.Pack != (ident.ID{0xbb}) {
		t.Fatalf("exclusion should leave the copy in pack bb: %+v %v", loc, ok)
	}
	if x.Has(ident.TreeBlob, ident.ID{2}) {
		t.Fatal("blob only in an excluded pack still reported")
	}
	if x.Count(ident.DataBlob) != 2 || len(x.Packs()) != 2 {
		t.Fatal("bad counts")
	}
}

// FuzzDecodeFile: arbitrary bytes never panic; accepted files re-encode to
// the same content.
func FuzzDecodeFile(f *testing.F) {
	f.Add(EncodeFile(samplePacks()))
	f.Add([]byte("CIX1\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		packs, err := DecodeFile(data)
		if err != nil {
			return
		}
		again, err := DecodeFile(EncodeFile(packs))
		if err != nil || !reflect.DeepEqual(packs, again) {
			t.Fatalf("re-encoding changed the index: %v", err)
		}
	})
}

func TestAddBulkVisibleAfterCompact(t *testing.T) {
	x := New()
	x.AddPack(ident.ID{0xcc}, []pack.Entry{{Type: ident.DataBlob, ID: ident.ID{5}, Length: 40}})
	for _, p := range samplePacks() {
		x.AddBulk(p.Pack, p.Blobs)
	}
	if x.Has(ident.TreeBlob, ident.ID{2}) {
		t.Fatal("bulk entry visible before Compact")
	}
	x.Compact()
	if !x.Has(ident.TreeBlob, ident.ID{2}) || !x.Has(ident.DataBlob, ident.ID{5}) || len(x.LookupAll(ident.DataBlob, ident.ID{1})) != 2 {
		t.Fatal("entries missing after Compact")
	}
}
