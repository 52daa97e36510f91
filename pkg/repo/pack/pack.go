// Package pack defines the pack file: many sealed blobs back to back,
// followed by a sealed header that lists them, then the header's length.
// Packs are what the repository uploads; the index (package index) repeats
// the header entries so that reading a blob needs one ranged GET.
//
// Layout: blob_0 ... blob_n-1 | sealed header | uint32 LE length of sealed header
//
// Header plaintext: magic "CPK1", uvarint count, then count entries of
// 1 byte type (bit 7 = zstd-compressed), 32 bytes blob ID, and uvarints
// offset, stored length, raw length.
package pack

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cairnbackup/cairn/pkg/repo/crypto"
	"github.com/cairnbackup/cairn/pkg/repo/ident"
)

// Entry locates one blob inside a pack.
type Entry struct {
	Type       ident.BlobType
	Compressed bool
	ID         ident.ID
	Offset     uint32 // byte offset of the sealed blob in the pack
	Length     uint32 // sealed (stored) length
	RawLength  uint32 // plaintext length after decompression
}

const headerMagic = "CPK1"

// MaxPackSize bounds a pack so offsets fit in uint32.
const MaxPackSize = 1 << 31

// maxEntries bounds the count read from an untrusted header: no entry is
// smaller than 1+32+3 bytes.
const minEntrySize = 1 + ident.Size + 3

// EncodeHeader serialises entries into the header plaintext.
func EncodeHeader(entries []Entry) []byte {
	buf := make([]byte, 0, len(headerMagic)+binary.MaxVarintLen64+len(entries)*(1+ident.Size+12))
	buf = append(buf, headerMagic...)
	buf = binary.AppendUvarint(buf, uint64(len(entries)))
	for _, e := range entries {
		buf = AppendEntry(buf, e)
	}
	return buf
}

// DecodeHeader parses a header plaintext and checks each entry is sane:
// known type, blobs within dataLen (the pack size minus the header), in
// order and not overlapping.
func DecodeHeader(buf []byte, dataLen int64) ([]Entry, error) {
	if len(buf) < len(headerMagic) || string(buf[:len(headerMagic)]) != headerMagic {
		return nil, errors.New("pack header: bad magic")
	}
	buf = buf[len(headerMagic):]
	n, k := binary.Uvarint(buf)
	if k <= 0 {
		return nil, errors.New("pack header: bad entry count")
	}
	buf = buf[k:]
	if n > uint64(len(buf)/minEntrySize) {
		return nil, fmt.Errorf("pack header: %d entries do not fit in %d bytes", n, len(buf))
	}
	entries := make([]Entry, 0, n)
	var end uint64
	for i := uint64(0); i < n; i++ {
		e, rest, err := ReadEntry(buf)
		if err != nil {
			return nil, fmt.Errorf("pack header: entry %d: %w", i, err)
		}
		buf = rest
		vals := [2]uint64{uint64(e.Offset), uint64(e.Length)}
		if vals[0] < end || vals[0]+vals[1] > uint64(dataLen) {
			return nil, fmt.Errorf("pack header: entry %d (offset %d, length %d) overlaps or lies outside the %d data bytes", i, vals[0], vals[1], dataLen)
		}
		end = vals[0] + vals[1]
		entries = append(entries, e)
	}
	if len(buf) != 0 {
		return nil, fmt.Errorf("pack header: %d trailing bytes", len(buf))
	}
	return entries, nil
}

// TrailerSize is the size of the length field at the very end of a pack.
const TrailerSize = 4

// AppendTrailer seals the header for entries and appends it and its length to
// pack (the blob bytes), returning the finished pack.
func AppendTrailer(key *crypto.Key, pack []byte, entries []Entry) []byte {
	start := len(pack)
	pack = key.Seal(pack, EncodeHeader(entries))
	return binary.LittleEndian.AppendUint32(pack, uint32(len(pack)-start))
}

// HeaderLength reads the sealed header length from the last TrailerSize
// bytes of a pack of size packSize, and checks it fits.
func HeaderLength(trailer []byte, packSize int64) (int64, error) {
	if len(trailer) != TrailerSize {
		return 0, fmt.Errorf("pack trailer has %d bytes, want %d", len(trailer), TrailerSize)
	}
	n := int64(binary.LittleEndian.Uint32(trailer))
	if n < crypto.Overhead || n > packSize-TrailerSize {
		return 0, fmt.Errorf("pack trailer: header length %d does not fit in a %d-byte pack (truncated pack?)", n, packSize)
	}
	return n, nil
}

// ParseTail decodes the entries of a pack from its tail — the sealed header
// plus trailer — given the total pack size.
func ParseTail(key *crypto.Key, tail []byte, packSize int64) ([]Entry, error) {
	if len(tail) < TrailerSize {
		return nil, errors.New("pack too short for a trailer")
	}
	hl, err := HeaderLength(tail[len(tail)-TrailerSize:], packSize)
	if err != nil {
		return nil, err
	}
	if int64(len(tail)) < hl+TrailerSize {
		return nil, fmt.Errorf("pack tail has %d bytes, header needs %d", len(tail), hl+TrailerSize)
	}
	sealed := tail[len(tail)-TrailerSize-int(hl) : len(tail)-TrailerSize]
	plain, err := key.Open(nil, sealed)
	if err != nil {
		return nil, fmt.Errorf("pack header: %w", err)
	}
	return DecodeHeader(plain, packSize-TrailerSize-hl)
}

// AppendEntry appends the binary form of e (shared by pack headers and index
// files) to buf.
func AppendEntry(buf []byte, e Entry) []byte {
	t := byte(e.Type)
	if e.Compressed {
		t |= 0x80
	}
	buf = append(buf, t)
	buf = append(buf, e.ID[:]...)
	buf = binary.AppendUvarint(buf, uint64(e.Offset))
	buf = binary.AppendUvarint(buf, uint64(e.Length))
	return binary.AppendUvarint(buf, uint64(e.RawLength))
}

// ReadEntry decodes one entry written by AppendEntry and returns the rest of
// buf. It checks the type and that every length fits a pack.
func ReadEntry(buf []byte) (Entry, []byte, error) {
	var e Entry
	if len(buf) < 1+ident.Size {
		return e, nil, errors.New("truncated entry")
	}
	e.Type = ident.BlobType(buf[0] &^ 0x80)
	e.Compressed = buf[0]&0x80 != 0
	if !e.Type.Valid() {
		return e, nil, fmt.Errorf("unknown blob type %d", buf[0])
	}
	copy(e.ID[:], buf[1:1+ident.Size])
	buf = buf[1+ident.Size:]
	var vals [3]uint64
	for j := range vals {
		v, k := binary.Uvarint(buf)
		if k <= 0 || v > MaxPackSize {
			return e, nil, errors.New("bad length field")
		}
		vals[j] = v
		buf = buf[k:]
	}
	if vals[1] < crypto.Overhead {
		return e, nil, fmt.Errorf("stored length %d is shorter than the encryption envelope", vals[1])
	}
	e.Offset, e.Length, e.RawLength = uint32(vals[0]), uint32(vals[1]), uint32(vals[2])
	return e, buf, nil
}
