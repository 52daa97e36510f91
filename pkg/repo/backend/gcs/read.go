package gcs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/objhttp"
	"gocloud.dev/blob/driver"
)

// NewRangeReader implements driver.Bucket. length < 0 reads to the end; a
// range that starts at or past the end reads nothing (not an error), and
// one that runs past the end stops at the end, as driver.Bucket documents.
func (b *bucket) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	if offset < 0 {
		return nil, fmt.Errorf("gcs: read %s: negative offset %d: %w", svc.Target(b.name, key), offset, errInvalid)
	}
	return objhttp.RangeRead(opts, length,
		func() (*driver.Attributes, error) { return b.Attributes(ctx, key) },
		func() (*objhttp.Reader, error) { return b.openRange(ctx, key, offset, length) })
}

// openRange starts the media download of a non-empty range.
func (b *bucket) openRange(ctx context.Context, key string, offset, length int64) (*objhttp.Reader, error) {
	u, err := b.objectURL("read", key, url.Values{"alt": {"media"}})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("gcs: read %s: %w", svc.Target(b.name, key), err)
	}
	if rng := objhttp.RangeHeader(offset, length); rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := b.do(req, "read", key)
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusRequestedRangeNotSatisfiable {
		// The range starts at or past the end of the object.
		a, err := b.Attributes(ctx, key)
		if err != nil {
			return nil, err
		}
		return objhttp.Empty(a), nil
	}
	if err != nil {
		return nil, err
	}
	// A whole answer's Content-Length is of the served (maybe transcoded)
	// bytes; the stored length is the object's size.
	return svc.NewReader(resp, b.name, key, offset, length, "X-Goog-Stored-Content-Length")
}
