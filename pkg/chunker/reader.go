package chunker

import (
	"errors"
	"fmt"
	"io"
)

// Reader cuts a stream into chunks. It reads in large blocks into one
// reusable buffer, so memory per stream is fixed (at most twice the maximum
// chunk size) regardless of the stream's length; a short stream needs only a
// buffer a little larger than itself.
type Reader struct {
	c          *Chunker
	r          io.Reader
	buf        []byte
	start, end int
	eof        bool
	err        error
}

// NewReader returns a Reader over r that reads into buf. A stream that
// fits in buf is read with no further allocation; if buf turns out too small
// to find a boundary, the Reader switches to its own buffer of twice the
// maximum chunk size. Passing buffers lets callers pool them across files
// and size them to the file.
func (c *Chunker) NewReader(r io.Reader, buf []byte) *Reader {
	if cap(buf) < 4096 {
		buf = make([]byte, 2*c.params.Max)
	}
	return &Reader{c: c, r: r, buf: buf[:cap(buf)]}
}

// Reset points the Reader at a new stream, keeping its buffer.
func (rd *Reader) Reset(r io.Reader) {
	rd.r, rd.start, rd.end, rd.eof, rd.err = r, 0, 0, false, nil
}

// Buffer returns the Reader's current buffer so a caller can return it to a
// pool (it may be a larger one than was passed in).
func (rd *Reader) Buffer() []byte { return rd.buf }

// Next returns the next chunk. The slice is only valid until the next call to
// Next or Reset; copy it to keep it. At the end of the stream Next returns
// io.EOF; a read error is returned as is, after the chunks read before it.
func (rd *Reader) Next() ([]byte, error) {
	for {
		data := rd.buf[rd.start:rd.end]
		if len(data) > 0 {
			if n := rd.c.Cut(data, rd.eof); n > 0 {
				rd.start += n
				return data[:n], nil
			}
		}
		if rd.eof {
			if rd.err != nil {
				return nil, rd.err
			}
			return nil, io.EOF
		}
		rd.fill()
	}
}

// fill compacts the unread bytes to the front of the buffer and reads until
// the buffer is full or the stream ends. A full buffer without a boundary
// in it is too small: it is replaced by one of twice the maximum chunk
// size, enough for any boundary search.
func (rd *Reader) fill() {
	if rd.start > 0 {
		rd.end = copy(rd.buf, rd.buf[rd.start:rd.end])
		rd.start = 0
	}
	if rd.end == len(rd.buf) {
		bigger := make([]byte, max(2*rd.c.params.Max, 2*len(rd.buf)))
		rd.end = copy(bigger, rd.buf[:rd.end])
		rd.buf = bigger
	}
	for rd.end < len(rd.buf) {
		n, err := rd.r.Read(rd.buf[rd.end:])
		if n < 0 || n > len(rd.buf)-rd.end {
			rd.eof, rd.err = true, fmt.Errorf("chunker: reader returned invalid count %d", n)
			return
		}
		rd.end += n
		if err != nil {
			rd.eof = true
			if !errors.Is(err, io.EOF) {
				rd.err = err
			}
			return
		}
		if n == 0 {
			// A reader that returns 0, nil repeatedly must not spin us
			// forever; treat a zero read as "come back later" only once
			// data is buffered.
			if rd.end-rd.start >= rd.c.params.Max {
				return
			}
		}
	}
}
