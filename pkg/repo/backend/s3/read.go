package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/cairnbackup/cairn/pkg/repo/backend/s3/internal/safetext"
	"gocloud.dev/blob/driver"
)

// ListPaged implements driver.Bucket with ListObjectsV2. Keys come back
// URL-encoded (encoding-type=url), so any key survives the XML.
func (b *bucket) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	if opts.BeforeList != nil {
		if err := opts.BeforeList(noAs); err != nil {
			return nil, err
		}
	}
	size := opts.PageSize
	if size <= 0 || size > defaultPageSize {
		size = defaultPageSize
	}
	q := url.Values{"list-type": {"2"}, "max-keys": {strconv.Itoa(size)}, "encoding-type": {"url"}}
	if opts.Prefix != "" {
		q.Set("prefix", escapeKey(opts.Prefix))
	}
	if opts.Delimiter != "" {
		q.Set("delimiter", escapeKey(opts.Delimiter))
	}
	if len(opts.PageToken) > 0 {
		q.Set("continuation-token", string(opts.PageToken))
	}
	objs, next, err := b.listOnce(ctx, q, opts.Prefix)
	if err != nil {
		return nil, err
	}
	if next != "" && len(objs) >= size {
		// MinIO reports a full page as truncated even when nothing
		// follows; gocloud's contract wants no empty last page, so look
		// one entry ahead.
		q.Set("max-keys", "1")
		q.Set("continuation-token", next)
		more, _, err := b.listOnce(ctx, q, opts.Prefix)
		if err != nil {
			return nil, err
		}
		if len(more) == 0 {
			next = ""
		}
	}
	// The service sends objects and "directories" in two sorted lists.
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	page := &driver.ListPage{Objects: objs}
	if next != "" {
		page.NextPageToken = []byte(next)
	}
	return page, nil
}

// listOnce sends one ListObjectsV2 request.
func (b *bucket) listOnce(ctx context.Context, q url.Values, prefix string) ([]*driver.ListObject, string, error) {
	resp, err := b.do(ctx, &call{op: "list", method: http.MethodGet, query: q})
	if err != nil {
		return nil, "", err
	}
	defer drainClose(resp.Body)
	objs, next, err := decodeList(resp.Body)
	if err != nil {
		return nil, "", fmt.Errorf("s3: list %s: %w", target(b.name, prefix), err)
	}
	return objs, next, nil
}

// NewRangeReader implements driver.Bucket with GetObject. length < 0 reads
// to the end; a range that starts at or past the end reads nothing (not an
// error) and one that runs past the end stops there, as driver.Bucket
// documents.
func (b *bucket) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	if offset < 0 {
		return nil, fmt.Errorf("s3: read %s: negative offset %d: %w", target(b.name, key), offset, errInvalid)
	}
	if key == "" {
		return nil, fmt.Errorf("s3: read: empty key: %w", errInvalid)
	}
	var r *reader
	var err error
	if length == 0 {
		// HTTP cannot ask for zero bytes; HeadObject still reports a
		// missing object.
		r, err = b.emptyReader(ctx, key)
	} else {
		r, err = b.openRange(ctx, key, offset, length)
	}
	if err != nil {
		return nil, err
	}
	if opts.BeforeRead != nil {
		if err := opts.BeforeRead(noAs); err != nil {
			r.Close()
			return nil, err
		}
	}
	return r, nil
}

// emptyReader reads nothing from key, with its attributes.
func (b *bucket) emptyReader(ctx context.Context, key string) (*reader, error) {
	a, err := b.Attributes(ctx, key)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Op = "read"
		}
		return nil, err
	}
	return &reader{body: strings.NewReader(""), attrs: driver.ReaderAttributes{ContentType: a.ContentType, ModTime: a.ModTime, Size: a.Size}}, nil
}

// openRange starts the download of a non-empty range.
func (b *bucket) openRange(ctx context.Context, key string, offset, length int64) (*reader, error) {
	h := http.Header{}
	switch {
	case length > 0:
		h.Set("Range", fmt.Sprintf("bytes=%d-%d", offset, offset+length-1))
	case offset > 0:
		h.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	resp, err := b.do(ctx, &call{op: "read", method: http.MethodGet, key: key, header: h})
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusRequestedRangeNotSatisfiable {
		// The range starts at or past the end (or the object is empty).
		return b.emptyReader(ctx, key)
	}
	if err != nil {
		return nil, err
	}
	r, err := newReader(resp, offset, length)
	if err != nil {
		drainClose(resp.Body)
		return nil, fmt.Errorf("s3: read %s: %w", target(b.name, key), err)
	}
	return r, nil
}

// newReader wraps a successful download, taking the object's size from
// Content-Range (a partial answer) or Content-Length (a whole one). A
// server that ignored the Range header is tolerated by skipping and
// cutting the body here.
func newReader(resp *http.Response, offset, length int64) (*reader, error) {
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
		start, total, err := ParseContentRange(resp.Header.Get("Content-Range"))
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

// ParseContentRange parses "bytes <first>-<last>/<total>" and returns the
// first byte's offset and the object's size.
func ParseContentRange(cr string) (start, total int64, err error) {
	bad := fmt.Errorf("%w: Content-Range %q", errMalformed, safetext.Line(cr, 80))
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

// As implements driver.Reader; there is no SDK type to expose.
func (r *reader) As(any) bool { return false }
