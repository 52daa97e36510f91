package azblob

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/objhttp"
	"gocloud.dev/blob/driver"
)

// defaultPageSize is the listing page size when the caller sets none;
// maxPageSize is the service's limit.
const (
	defaultPageSize = 1000
	maxPageSize     = 5000
)

// ListPaged implements driver.Bucket with List Blobs: prefix, delimiter
// ("directories" come back as BlobPrefix entries), maxresults and the
// service's marker as the page token.
func (b *bucket) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	if opts.BeforeList != nil {
		if err := opts.BeforeList(objhttp.NoAs); err != nil {
			return nil, err
		}
	}
	size := opts.PageSize
	if size <= 0 {
		size = defaultPageSize
	}
	if size > maxPageSize {
		size = maxPageSize
	}
	q := url.Values{"restype": {"container"}, "comp": {"list"}, "maxresults": {strconv.Itoa(size)}}
	if opts.Prefix != "" {
		q.Set("prefix", escapeKey(opts.Prefix, true))
	}
	if opts.Delimiter != "" {
		q.Set("delimiter", escapeKey(opts.Delimiter, true))
	}
	if len(opts.PageToken) > 0 {
		q.Set("marker", string(opts.PageToken))
	}
	req, err := b.newRequest(ctx, http.MethodGet, b.containerURL(q), "list", "", nil)
	if err != nil {
		return nil, err
	}
	resp, err := b.do(req, "list", "")
	if err != nil {
		return nil, err
	}
	defer objhttp.DrainClose(resp.Body)
	objs, next, err := decodeList(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("azblob: list %s: %w", svc.Target(b.container, opts.Prefix), err)
	}
	page := &driver.ListPage{Objects: objs}
	if next != "" {
		page.NextPageToken = []byte(next)
	}
	return page, nil
}
