package azblob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"gocloud.dev/blob/driver"
)

// NewRangeReader implements driver.Bucket with Get Blob and x-ms-range.
// length < 0 reads to the end; a range that starts at or past the end
// reads nothing (not an error), and one that runs past the end stops at
// the end, as driver.Bucket documents.
func (b *bucket) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	if offset < 0 {
		return nil, fmt.Errorf("azblob: read %s: negative offset %d: %w", target(b.container, key), offset, errInvalid)
	}
	var r *reader
	if length == 0 {
		// A zero-length range cannot be asked for; the properties call
		// still reports a missing object.
		a, err := b.Attributes(ctx, key)
		if err != nil {
			return nil, err
		}
		r = emptyReader(a)
	} else {
		var err error
		if r, err = b.openRange(ctx, key, offset, length); err != nil {
			return nil, err
		}
	}
	if opts.BeforeRead != nil {
		if err := opts.BeforeRead(noAs); err != nil {
			r.Close()
			return nil, err
		}
	}
	return r, nil
}

// openRange starts the download of a non-empty range.
func (b *bucket) openRange(ctx context.Context, key string, offset, length int64) (*reader, error) {
	u, err := b.blobURL("read", key, nil)
	if err != nil {
		return nil, err
	}
	req, err := b.newRequest(ctx, http.MethodGet, u, "read", key, nil)
	if err != nil {
		return nil, err
	}
	switch {
	case length > 0:
		req.Header.Set("x-ms-range", fmt.Sprintf("bytes=%d-%d", offset, offset+length-1))
	case offset > 0:
		req.Header.Set("x-ms-range", fmt.Sprintf("bytes=%d-", offset))
	}
	resp, err := b.do(req, "read", key)
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusRequestedRangeNotSatisfiable {
		// The range starts at or past the end of the object (or the
		// object is empty).
		a, err := b.Attributes(ctx, key)
		if err != nil {
			return nil, err
		}
		return emptyReader(a), nil
	}
	if err != nil {
		return nil, err
	}
	r, err := newReader(resp, offset, length)
	if err != nil {
		drainClose(resp.Body)
		return nil, fmt.Errorf("azblob: read %s: %w", target(b.container, key), err)
	}
	return r, nil
}

// newReader wraps a successful download, taking the object's size from
// Content-Range (a partial answer) or Content-Length (a whole one). A
// server that ignored the range is tolerated by skipping and cutting the
// body here.
func newReader(resp *http.Response, offset, length int64) (*reader, error) {
	attrs := driver.ReaderAttributes{ContentType: contentType(resp.Header.Get("Content-Type"))}
	if t, err := parseHTTPTime("Last-Modified", resp.Header.Get("Last-Modified")); err == nil {
		attrs.ModTime = t
	}
	var body io.Reader = resp.Body
	if resp.StatusCode == http.StatusPartialContent {
		start, total, err := parseContentRange(resp.Header.Get("Content-Range"))
		if err != nil {
			return nil, err
		}
		if start != offset {
			return nil, fmt.Errorf("%w: asked for bytes from %d, got them from %d", errMalformed, offset, start)
		}
		attrs.Size = total
	} else {
		attrs.Size = resp.ContentLength
		if offset > 0 {
			if _, err := io.CopyN(io.Discard, resp.Body, offset); err != nil && err != io.EOF {
				return nil, err
			}
		}
	}
	if length > 0 {
		body = io.LimitReader(body, length)
	}
	return &reader{body: body, closer: resp.Body, attrs: attrs}, nil
}

// parseContentRange parses "bytes <first>-<last>/<total>".
func parseContentRange(cr string) (start, total int64, err error) {
	bad := fmt.Errorf("%w: Content-Range %q", errMalformed, printable(cr, 80))
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

// reader implements driver.Reader over a download.
type reader struct {
	body   io.Reader
	closer io.Closer // nil for an empty read
	attrs  driver.ReaderAttributes
}

// emptyReader reads nothing from an object with attributes a.
func emptyReader(a *driver.Attributes) *reader {
	return &reader{
		body:  strings.NewReader(""),
		attrs: driver.ReaderAttributes{ContentType: a.ContentType, ModTime: a.ModTime, Size: a.Size},
	}
}

// Read implements io.Reader.
func (r *reader) Read(p []byte) (int, error) { return r.body.Read(p) }

// Close implements io.Closer.
func (r *reader) Close() error {
	if r.closer == nil {
		return nil
	}
	return r.closer.Close()
}

// Attributes implements driver.Reader.
func (r *reader) Attributes() *driver.ReaderAttributes { return &r.attrs }

// As implements driver.Reader; there is no service type to expose.
func (r *reader) As(any) bool { return false }
