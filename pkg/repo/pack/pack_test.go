package pack

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo/crypto"
	"github.com/cairnbackup/cairn/pkg/repo/ident"
)

func sampleEntries() []Entry {
	return []Entry{
		{Type: ident.DataBlob, ID: ident.ID{1}, Offset: 0, Length: 100, RawLength: 300, Compressed: true},
		{Type: ident.TreeBlob, ID: ident.ID{2}, Offset: 100, Length: 50, RawLength: 22},
	}
}

func TestHeaderRoundTripAndTail(t *testing.T) {
	key, _ := crypto.NewRandomKey()
	body := bytes.Repeat([]byte{9}, 150)
	packBytes := AppendTrailer(key, append([]byte(nil), body...), sampleEntries())
	got, err := ParseTail(key, packBytes, int64(len(packBytes)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, sampleEntries()) {
		t.Fatalf("got %+v", got)
	}
	// Truncation and bit flips are reported, never panics.
	if _, err := ParseTail(key, packBytes[:len(packBytes)-1], int64(len(packBytes)-1)); err == nil {
		t.Fatal("truncated pack accepted")
	}
	bad := append([]byte(nil), packBytes...)
	bad[len(bad)-10] ^= 1
	if _, err := ParseTail(key, bad, int64(len(bad))); err == nil {
		t.Fatal("flipped header accepted")
	}
}

func TestDecodeHeaderRejectsOverlap(t *testing.T) {
	es := sampleEntries()
	es[1].Offset = 50
	if _, err := DecodeHeader(EncodeHeader(es), 1000); err == nil {
		t.Fatal("overlapping entries accepted")
	}
	if _, err := DecodeHeader(EncodeHeader(sampleEntries()), 120); err == nil {
		t.Fatal("entry beyond the data accepted")
	}
}

// FuzzDecodeHeader: arbitrary header bytes never panic; accepted headers
// re-encode to something that decodes to the same entries.
func FuzzDecodeHeader(f *testing.F) {
	f.Add(EncodeHeader(sampleEntries()), int64(150))
	f.Add([]byte("CPK1\x00"), int64(0))
	f.Fuzz(func(t *testing.T, data []byte, dataLen int64) {
		es, err := DecodeHeader(data, dataLen)
		if err != nil {
			return
		}
		again, err := DecodeHeader(EncodeHeader(es), dataLen)
		if err != nil || !reflect.DeepEqual(es, again) {
			t.Fatalf("re-encoding changed entries: %v", err)
		}
	})
}

// FuzzParseTail runs the whole tail path (trailer, decryption, header) on
// arbitrary bytes with a fixed key.
func FuzzParseTail(f *testing.F) {
	key, _ := crypto.KeyFromBytes(bytes.Repeat([]byte{3}, crypto.KeySize))
	f.Add(AppendTrailer(key, make([]byte, 150), sampleEntries()))
	f.Add([]byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseTail(key, data, int64(len(data)))
	})
}
