package chunker

import (
	"errors"
	"fmt"
	"io"
)

// Buffers lends the byte slices chunks are read into. Get returns a slice of
// length 0 and capacity at least n; Put takes back a slice the Splitter (or
// the owner of a chunk) no longer needs. A size-class pool keeps reading
// allocation-free in the steady state.
type Buffers interface {
	Get(n int) []byte
	Put(b []byte)
}

// readStep bounds one read. A boundary is found at most readStep bytes
// before the end of what was read, so at most that much is copied into the
// next chunk's buffer: every other byte is read once, straight into the
// buffer that becomes its chunk.
const readStep = 256 << 10

// Splitter cuts a stream into chunks that the caller owns: each chunk is
// its own buffer, read into directly from the stream, so handing it to
// another goroutine needs no copy and memory is what the chunks in flight
// take. Each byte is hashed once.
type Splitter struct {
	c      *Chunker
	r      io.Reader
	bufs   Buffers
	remain int64 // bytes the stream is expected to still hold; <0 unknown
	cur    []byte
	cursor cursor
	eof    bool
	err    error
	zeros  int // consecutive empty reads
}

// NewSplitter returns a Splitter over r. size is the stream's expected
// length (a file's size from stat), used to size buffers so a small file
// takes a buffer only a little larger than itself; -1 if unknown. A stream
// that turns out longer or shorter than size is still read correctly.
func (c *Chunker) NewSplitter(r io.Reader, size int64, bufs Buffers) *Splitter {
	return &Splitter{c: c, r: r, bufs: bufs, remain: size}
}

// Next returns the next chunk. The caller owns it and gives it back with
// Buffers.Put when done (its capacity may exceed its length). At the end of
// the stream Next returns io.EOF; a read error is returned as is, after
// the chunks read before it.
func (s *Splitter) Next() ([]byte, error) {
	for {
		if len(s.cur) > 0 || s.eof {
			if n := s.c.resume(s.cur, s.eof, &s.cursor); n > 0 {
				chunk, rest := s.cur[:n], s.cur[n:]
				s.cur, s.cursor = nil, cursor{}
				if len(rest) > 0 {
					s.cur = append(s.bufs.Get(s.wantCap(len(rest))), rest...)
				}
				return chunk, nil
			}
		}
		if s.eof {
			s.Close()
			if s.err != nil {
				return nil, s.err
			}
			return nil, io.EOF
		}
		s.read()
	}
}

// Close gives back the buffer of a chunk that was being assembled, for a
// caller that stops before io.EOF.
func (s *Splitter) Close() {
	if s.cur != nil {
		s.bufs.Put(s.cur)
		s.cur = nil
	}
}

// wantCap is the capacity for a chunk buffer that starts with have bytes:
// the rest of a small stream plus one byte (to see the end), otherwise
// one and a half average chunks, which most chunks fit (a longer chunk
// moves once into a buffer of Max bytes).
func (s *Splitter) wantCap(have int) int {
	p := s.c.params
	want := p.Avg + p.Avg/2
	if s.remain >= 0 && int64(have)+s.remain+1 < int64(want) {
		want = have + int(s.remain) + 1
	}
	return max(want, have+1)
}

// read appends up to readStep bytes to the current chunk buffer, growing
// it (up to Max: a full buffer of Max bytes always holds a boundary) when
// it is full.
func (s *Splitter) read() {
	if s.cur == nil {
		s.cur = s.bufs.Get(s.wantCap(0))
	}
	if len(s.cur) == cap(s.cur) {
		grown := s.bufs.Get(min(max(2*cap(s.cur), 4096), s.c.params.Max))
		grown = append(grown, s.cur...)
		s.bufs.Put(s.cur)
		s.cur = grown
	}
	end := min(cap(s.cur), len(s.cur)+readStep)
	n, err := s.r.Read(s.cur[len(s.cur):end])
	if n < 0 || n > end-len(s.cur) {
		s.eof, s.err = true, fmt.Errorf("chunker: reader returned invalid count %d", n)
		return
	}
	s.cur = s.cur[:len(s.cur)+n]
	if n == 0 && err == nil {
		// A reader that keeps returning nothing would spin us forever.
		if s.zeros++; s.zeros >= 100 {
			s.eof, s.err = true, io.ErrNoProgress
		}
		return
	}
	s.zeros = 0
	if s.remain >= 0 {
		s.remain = max(s.remain-int64(n), 0)
	}
	if err != nil {
		s.eof = true
		if !errors.Is(err, io.EOF) {
			s.err = err
		}
	}
}
