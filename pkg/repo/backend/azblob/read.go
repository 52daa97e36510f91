package azblob

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/objhttp"
	"gocloud.dev/blob/driver"
)

// NewRangeReader implements driver.Bucket with Get Blob and x-ms-range.
// length < 0 reads to the end; a range that starts at or past the end
// reads nothing (not an error), and one that runs past the end stops at
// the end, as driver.Bucket documents.
func (b *bucket) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	if offset < 0 {
		return nil, fmt.Errorf("azblob: read %s: negative offset %d: %w", svc.Target(b.container, key), offset, errInvalid)
	}
	return objhttp.RangeRead(opts, length,
		func() (*driver.Attributes, error) { return b.Attributes(ctx, key) },
		func() (*objhttp.Reader, error) { return b.openRange(ctx, key, offset, length) })
}

// openRange starts the download of a non-empty range.
func (b *bucket) openRange(ctx context.Context, key string, offset, length int64) (*objhttp.Reader, error) {
	u, err := b.blobURL("read", key, nil)
	if err != nil {
		return nil, err
	}
	req, err := b.newRequest(ctx, http.MethodGet, u, "read", key, nil)
	if err != nil {
		return nil, err
	}
	if rng := objhttp.RangeHeader(offset, length); rng != "" {
		req.Header.Set("x-ms-range", rng)
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
		return objhttp.Empty(a), nil
	}
	if err != nil {
		return nil, err
	}
	return svc.NewReader(resp, b.container, key, offset, length, "")
}
