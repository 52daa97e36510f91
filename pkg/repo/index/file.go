// Package index keeps track of which pack holds which blob: the index file
// format written after packs are uploaded, and an in-memory index compact
// enough for millions of blobs (48 bytes per blob in sorted arrays).
package index

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cairnbackup/cairn/pkg/repo/ident"
	"github.com/cairnbackup/cairn/pkg/repo/pack"
)

// PackBlobs lists the blobs of one pack, as an index file records them.
type PackBlobs struct {
	Pack  ident.ID
	Blobs []pack.Entry
}

const fileMagic = "CIX1"

// EncodeFile serialises the plaintext of an index file.
// Layout: magic "CIX1", uvarint pack count, then per pack the 32-byte pack ID,
// uvarint blob count and the blob entries in pack-header form.
func EncodeFile(packs []PackBlobs) []byte {
	n := 0
	for _, p := range packs {
		n += ident.Size + 8 + len(p.Blobs)*(1+ident.Size+12)
	}
	buf := make([]byte, 0, len(fileMagic)+8+n)
	buf = append(buf, fileMagic...)
	buf = binary.AppendUvarint(buf, uint64(len(packs)))
	for _, p := range packs {
		buf = append(buf, p.Pack[:]...)
		buf = binary.AppendUvarint(buf, uint64(len(p.Blobs)))
		for _, e := range p.Blobs {
			buf = pack.AppendEntry(buf, e)
		}
	}
	return buf
}

// DecodeFile parses an index file plaintext. Counts are checked against the
// remaining bytes before anything is allocated.
func DecodeFile(buf []byte) ([]PackBlobs, error) {
	if len(buf) < len(fileMagic) || string(buf[:len(fileMagic)]) != fileMagic {
		return nil, errors.New("index: bad magic")
	}
	buf = buf[len(fileMagic):]
	np, k := binary.Uvarint(buf)
	if k <= 0 || np > uint64(len(buf)/(ident.Size+1)) {
		return nil, errors.New("index: bad pack count")
	}
	buf = buf[k:]
	packs := make([]PackBlobs, 0, np)
	for i := uint64(0); i < np; i++ {
		if len(buf) < ident.Size+1 {
			return nil, fmt.Errorf("index: pack %d truncated", i)
		}
		var p PackBlobs
		copy(p.Pack[:], buf[:ident.Size])
		buf = buf[ident.Size:]
		nb, k := binary.Uvarint(buf)
		if k <= 0 || nb > uint64(len(buf)/(1+ident.Size+3)) {
			return nil, fmt.Errorf("index: pack %d has a bad blob count", i)
		}
		buf = buf[k:]
		p.Blobs = make([]pack.Entry, 0, nb)
		for j := uint64(0); j < nb; j++ {
			e, rest, err := pack.ReadEntry(buf)
			if err != nil {
				return nil, fmt.Errorf("index: pack %d blob %d: %w", i, j, err)
			}
			buf = rest
			p.Blobs = append(p.Blobs, e)
		}
		packs = append(packs, p)
	}
	if len(buf) != 0 {
		return nil, fmt.Errorf("index: %d trailing bytes", len(buf))
	}
	return packs, nil
}
