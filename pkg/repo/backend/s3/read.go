package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/objhttp"
	"gocloud.dev/blob/driver"
)

// ListPaged implements driver.Bucket with ListObjectsV2. Keys come back
// URL-encoded (encoding-type=url), so any key survives the XML.
func (b *bucket) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	if opts.BeforeList != nil {
		if err := opts.BeforeList(objhttp.NoAs); err != nil {
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
	defer objhttp.DrainClose(resp.Body)
	objs, next, err := decodeList(resp.Body)
	if err != nil {
		return nil, "", fmt.Errorf("s3: list %s: %w", svc.Target(b.name, prefix), err)
	}
	return objs, next, nil
}

// NewRangeReader implements driver.Bucket with GetObject. length < 0 reads
// to the end; a range that starts at or past the end reads nothing (not an
// error) and one that runs past the end stops there, as driver.Bucket
// documents.
func (b *bucket) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	if offset < 0 {
		return nil, fmt.Errorf("s3: read %s: negative offset %d: %w", svc.Target(b.name, key), offset, errInvalid)
	}
	if key == "" {
		return nil, fmt.Errorf("s3: read: empty key: %w", errInvalid)
	}
	return objhttp.RangeRead(opts, length,
		func() (*driver.Attributes, error) { return b.readAttributes(ctx, key) },
		func() (*objhttp.Reader, error) { return b.openRange(ctx, key, offset, length) })
}

// readAttributes is Attributes for a read: a failure names the read.
func (b *bucket) readAttributes(ctx context.Context, key string) (*driver.Attributes, error) {
	a, err := b.Attributes(ctx, key)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Op = "read"
		}
		return nil, err
	}
	return a, nil
}

// emptyReader reads nothing from key, with its attributes.
func (b *bucket) emptyReader(ctx context.Context, key string) (*objhttp.Reader, error) {
	a, err := b.readAttributes(ctx, key)
	if err != nil {
		return nil, err
	}
	return objhttp.Empty(a), nil
}

// openRange starts the download of a non-empty range.
func (b *bucket) openRange(ctx context.Context, key string, offset, length int64) (*objhttp.Reader, error) {
	h := http.Header{}
	if rng := objhttp.RangeHeader(offset, length); rng != "" {
		h.Set("Range", rng)
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
	return svc.NewReader(resp, b.name, key, offset, length, "")
}
