package objhttp

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/safetext"
	"gocloud.dev/blob/driver"
)

// RangeHeader is the value of a Range (or x-ms-range) header asking for
// length bytes from offset; length < 0 reads to the end. It is "" when
// the whole object is wanted. A zero length cannot be asked for in HTTP:
// the drivers answer it from the object's attributes instead.
func RangeHeader(offset, length int64) string {
	switch {
	case length > 0:
		return fmt.Sprintf("bytes=%d-%d", offset, offset+length-1)
	case offset > 0:
		return fmt.Sprintf("bytes=%d-", offset)
	}
	return ""
}

// NewReader wraps a successful download of length bytes from offset
// (length < 0: to the end) of bucket/key, taking the object's size from
// Content-Range (a partial answer) or from the header storedSize names, or
// Content-Length (a whole one). A server that ignored the range is
// tolerated by skipping and cutting the body here. On an error the body is
// closed and the error names the read.
func (s Service) NewReader(resp *http.Response, bucket, key string, offset, length int64, storedSize string) (*Reader, error) {
	r, err := s.newReader(resp, offset, length, storedSize)
	if err != nil {
		DrainClose(resp.Body)
		return nil, s.Wrap("read", bucket, key, err)
	}
	return r, nil
}

func (s Service) newReader(resp *http.Response, offset, length int64, storedSize string) (*Reader, error) {
	attrs := driver.ReaderAttributes{ContentType: resp.Header.Get("Content-Type")}
	if attrs.ContentType == "" {
		attrs.ContentType = "application/octet-stream"
	}
	if lm := resp.Header.Get("Last-Modified"); lm != "" {
		if t, err := http.ParseTime(lm); err == nil {
			attrs.ModTime = t
		}
	}
	var body io.Reader = resp.Body
	if resp.StatusCode == http.StatusPartialContent {
		start, total, err := s.ParseContentRange(resp.Header.Get("Content-Range"))
		if err != nil {
			return nil, err
		}
		if start != offset {
			return nil, fmt.Errorf("%w: asked for bytes from %d, got them from %d", s.Malformed, offset, start)
		}
		attrs.Size = total
	} else {
		attrs.Size = resp.ContentLength
		if v := resp.Header.Get(storedSize); storedSize != "" && v != "" {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
				attrs.Size = n
			}
		}
		if offset > 0 {
			if _, err := io.CopyN(io.Discard, resp.Body, offset); err != nil && err != io.EOF {
				return nil, err
			}
		}
	}
	if length > 0 {
		body = io.LimitReader(body, length)
	}
	return &Reader{body: body, closer: resp.Body, attrs: attrs}, nil
}

// ParseContentRange parses "bytes <first>-<last>/<total>" and returns the
// first byte's offset and the object's size. Anything else (an unsatisfied
// "bytes */<total>", a reversed range, a range past the total) is an error
// wrapping s.Malformed, quoting the header made safe to print.
func (s Service) ParseContentRange(cr string) (start, total int64, err error) {
	bad := fmt.Errorf("%w: Content-Range %q", s.Malformed, safetext.Line(cr, 80))
	rest, ok := strings.CutPrefix(strings.TrimSpace(cr), "bytes ")
	if !ok {
		return 0, 0, bad
	}
	rng, tot, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, bad
	}
	first, last, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, bad
	}
	start, err1 := strconv.ParseInt(first, 10, 64)
	end, err2 := strconv.ParseInt(last, 10, 64)
	total, err3 := strconv.ParseInt(tot, 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || start < 0 || end < start || total <= end {
		return 0, 0, bad
	}
	return start, total, nil
}

// Reader implements driver.Reader over a download, or over nothing for a
// read that starts at or past the end.
type Reader struct {
	body   io.Reader
	closer io.Closer // nil for an empty read
	attrs  driver.ReaderAttributes
}

// Empty reads nothing from an object with attributes a: what a zero-length
// read, or one past the end, returns.
func Empty(a *driver.Attributes) *Reader {
	return &Reader{
		body:  strings.NewReader(""),
		attrs: driver.ReaderAttributes{ContentType: a.ContentType, ModTime: a.ModTime, Size: a.Size},
	}
}

// BeforeRead runs the caller's ReaderOptions.BeforeRead hook, if any, on a
// reader a driver opened; if the hook fails the reader is closed and the
// hook's error returned.
func BeforeRead(r *Reader, opts *driver.ReaderOptions) (driver.Reader, error) {
	if opts != nil && opts.BeforeRead != nil {
		if err := opts.BeforeRead(NoAs); err != nil {
			r.Close()
			return nil, err
		}
	}
	return r, nil
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) { return r.body.Read(p) }

// Close implements io.Closer.
func (r *Reader) Close() error {
	if r.closer == nil {
		return nil
	}
	return r.closer.Close()
}

// Attributes implements driver.Reader.
func (r *Reader) Attributes() *driver.ReaderAttributes { return &r.attrs }

// As implements driver.Reader; there is no service type to expose.
func (r *Reader) As(any) bool { return false }

// RangeRead applies driver.Bucket's range rules for a driver that reads
// over HTTP: a zero length cannot be asked for in a Range header, so attrs
// (which still reports a missing object) gives an empty reader its
// attributes; any other length goes to open, which starts the download.
// The reader then passes through opts.BeforeRead. The caller checks the
// offset and key first, in its own words.
func RangeRead(opts *driver.ReaderOptions, length int64, attrs func() (*driver.Attributes, error), open func() (*Reader, error)) (driver.Reader, error) {
	var r *Reader
	if length == 0 {
		a, err := attrs()
		if err != nil {
			return nil, err
		}
		r = Empty(a)
	} else {
		var err error
		if r, err = open(); err != nil {
			return nil, err
		}
	}
	return BeforeRead(r, opts)
}
