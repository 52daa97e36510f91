package fsutil

import (
	"errors"
	"io"
	"syscall"
)

// Extent is a byte range of a file.
type Extent struct {
	Offset, Length int64
}

const (
	seekData = 3 // SEEK_DATA
	seekHole = 4 // SEEK_HOLE
)

// File is what Holes and DataReader need: an *os.File or a *RawFile.
type File interface {
	io.ReaderAt
	Fd() uintptr
}

// Holes returns the holes of f (size bytes long) using SEEK_DATA/SEEK_HOLE.
// File systems without hole support report none, which is correct: the
// file is then read in full.
func Holes(f File, size int64) ([]Extent, error) {
	var holes []Extent
	fd := int(f.Fd())
	var pos int64
	for pos < size {
		data, err := syscall.Seek(fd, pos, seekData)
		if errors.Is(err, syscall.ENXIO) {
			// No data after pos: the rest is a hole.
			holes = append(holes, Extent{pos, size - pos})
			break
		}
		if err != nil {
			if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.EOPNOTSUPP) {
				return nil, nil
			}
			return nil, err
		}
		if data > pos {
			holes = append(holes, Extent{pos, min(data, size) - pos})
		}
		if data >= size {
			break
		}
		hole, err := syscall.Seek(fd, data, seekHole)
		if err != nil {
			return nil, err
		}
		pos = hole
	}
	// Put the offset back for a reader that goes on with Read.
	if _, err := syscall.Seek(fd, 0, io.SeekStart); err != nil {
		return nil, err
	}
	return holes, nil
}

// DataReader reads the parts of f outside holes, in order, as one stream.
type DataReader struct {
	f     File
	holes []Extent
	pos   int64
	size  int64
}

// NewDataReader returns a reader over f's data, skipping holes (sorted,
// non-overlapping, as returned by Holes).
func NewDataReader(f File, size int64, holes []Extent) *DataReader {
	return &DataReader{f: f, holes: holes, size: size}
}

// Read implements io.Reader.
func (d *DataReader) Read(p []byte) (int, error) {
	for len(d.holes) > 0 && d.pos >= d.holes[0].Offset {
		d.pos = max(d.pos, d.holes[0].Offset+d.holes[0].Length)
		d.holes = d.holes[1:]
	}
	if d.pos >= d.size {
		return 0, io.EOF
	}
	end := d.size
	if len(d.holes) > 0 {
		end = d.holes[0].Offset
	}
	if int64(len(p)) > end-d.pos {
		p = p[:end-d.pos]
	}
	n, err := d.f.ReadAt(p, d.pos)
	d.pos += int64(n)
	if errors.Is(err, io.EOF) {
		if n == 0 {
			// The file shrank while being read.
			return 0, io.EOF
		}
		err = nil
	}
	return n, err
}

// DataExtents returns the complement of holes within size: the extents of a
// file that hold data, in order.
func DataExtents(holes []Extent, size int64) []Extent {
	var out []Extent
	var pos int64
	for _, h := range holes {
		if h.Offset > pos {
			out = append(out, Extent{pos, h.Offset - pos})
		}
		pos = h.Offset + h.Length
	}
	if pos < size {
		out = append(out, Extent{pos, size - pos})
	}
	return out
}
