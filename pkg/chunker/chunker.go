// Package chunker splits byte streams into content-defined chunks with a
// FastCDC-class gear hash.
//
// Content-defined boundaries make deduplication survive insertions and
// deletions: an edit in the middle of a file changes only the chunks around
// the edit. The gear table is derived from a per-repository secret seed, so
// the chunk boundaries (and therefore the chunk sizes an observer of the
// storage can see) reveal nothing about the content to someone who does not
// know the seed.
package chunker

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/bits"
)

// Params bounds the chunk sizes. Every chunk except the last one of a stream
// is at least Min and at most Max bytes long; Avg is the target mean and must
// be a power of two because it selects the number of hash bits tested.
type Params struct {
	Min int
	Avg int
	Max int
}

// DefaultParams are the sizes used for file content: ~1 MiB average keeps the
// index small for large data sets while still deduplicating well; the 512 KiB
// minimum lets the chunker skip hashing a large part of every chunk, which is
// where most of its speed comes from; the 4 MiB maximum bounds the memory a
// chunk in flight takes (normalised chunking makes chunks that large rare).
var DefaultParams = Params{Min: 512 << 10, Avg: 1 << 20, Max: 4 << 20}

// MinSeedLen is the shortest seed accepted; shorter seeds would make the gear
// table guessable.
const MinSeedLen = 16

// Chunker finds chunk boundaries. It holds no stream state, so one Chunker is
// safe for use by many goroutines at once.
type Chunker struct {
	gear   [256]uint64
	params Params
	maskS  uint64 // stricter mask used before Avg: fewer small chunks
	maskL  uint64 // looser mask used after Avg: fewer chunks hit Max
}

// New builds a Chunker whose gear table is derived from seed. The same seed
// and params always give the same boundaries, which is what makes
// deduplication across backups work.
func New(seed []byte, p Params) (*Chunker, error) {
	if len(seed) < MinSeedLen {
		return nil, fmt.Errorf("chunker: seed is %d bytes, need at least %d (use the repository's chunker seed)", len(seed), MinSeedLen)
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	c := &Chunker{params: p}
	c.gear = gearTable(seed)
	avgBits := bits.TrailingZeros(uint(p.Avg))
	// Normalised chunking (level 2): two bits more before the average size,
	// two bits fewer after it, which narrows the size distribution.
	c.maskS = topMask(avgBits + 2)
	c.maskL = topMask(avgBits - 2)
	return c, nil
}

// Params reports the sizes the Chunker was built with.
func (c *Chunker) Params() Params { return c.params }

func (p Params) validate() error {
	switch {
	case p.Min <= 0 || p.Avg <= 0 || p.Max <= 0:
		return fmt.Errorf("chunker: sizes must be positive, got min=%d avg=%d max=%d", p.Min, p.Avg, p.Max)
	case p.Avg&(p.Avg-1) != 0:
		return fmt.Errorf("chunker: average size %d is not a power of two; pick e.g. %d", p.Avg, 1<<bits.Len(uint(p.Avg)))
	case !(p.Min < p.Avg && p.Avg < p.Max):
		return fmt.Errorf("chunker: need min < avg < max, got min=%d avg=%d max=%d", p.Min, p.Avg, p.Max)
	case p.Avg < 64:
		return fmt.Errorf("chunker: average size %d is too small, use at least 64", p.Avg)
	case p.Max > 1<<30:
		return fmt.Errorf("chunker: maximum size %d is above 1 GiB", p.Max)
	}
	return nil
}

// topMask returns a mask of the n most significant bits. The high bits of a
// gear hash depend on the last 64 input bytes, the low bits only on the last
// few, so testing high bits gives a real sliding window.
func topMask(n int) uint64 {
	if n <= 0 {
		return 0
	}
	if n > 63 {
		n = 63
	}
	return ^uint64(0) << (64 - n)
}

// gearTable expands the seed into 256 pseudo-random 64-bit values with
// SHA-256 in counter mode under a domain-separation label.
func gearTable(seed []byte) [256]uint64 {
	var t [256]uint64
	var ctr [4]byte
	for i := 0; i < 256; i += 4 {
		h := sha256.New()
		h.Write([]byte("cairn chunker gear table v1\x00"))
		h.Write(seed)
		binary.BigEndian.PutUint32(ctr[:], uint32(i))
		h.Write(ctr[:])
		sum := h.Sum(nil)
		for j := 0; j < 4; j++ {
			t[i+j] = binary.LittleEndian.Uint64(sum[8*j:])
		}
	}
	return t
}

// Cut returns the length of the first chunk of data. If final is false and
// data holds no boundary before Max, Cut returns 0 to ask for more input
// (unless len(data) >= Max, in which case it cuts at Max). If final is true
// the stream ends with data, so Cut always returns a length > 0 for non-empty
// data.
func (c *Chunker) Cut(data []byte, final bool) int {
	var cur cursor
	return c.resume(data, final, &cur)
}

// scan feeds data[i:end] into the gear hash h and returns the position just
// after the first byte where h&mask == 0. The loop is unrolled and written
// over a shrinking slice so the compiler drops all bounds checks.
func (c *Chunker) scan(data []byte, i, end int, h, mask uint64) (int, uint64, bool) {
	gear := &c.gear
	b := data[i:end]
	for len(b) >= 4 {
		if h = (h << 1) + gear[b[0]]; h&mask == 0 {
			return end - len(b) + 1, h, true
		}
		if h = (h << 1) + gear[b[1]]; h&mask == 0 {
			return end - len(b) + 2, h, true
		}
		if h = (h << 1) + gear[b[2]]; h&mask == 0 {
			return end - len(b) + 3, h, true
		}
		if h = (h << 1) + gear[b[3]]; h&mask == 0 {
			return end - len(b) + 4, h, true
		}
		b = b[4:]
	}
	for ; len(b) > 0; b = b[1:] {
		if h = (h << 1) + gear[b[0]]; h&mask == 0 {
			return end - len(b) + 1, h, true
		}
	}
	return end, h, false
}
