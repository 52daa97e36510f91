// Package conformance runs gocloud.dev's driver conformance suite
// (drivertest) on buckets opened the way cairn opens them: through
// gocloud's own s3blob, gcsblob and azureblob drivers with the SDK
// clients cairn's openers configure (checksums, retries, endpoints,
// credentials). Those drivers only hand out a *blob.Bucket, while the
// suite takes a driver.Bucket, so Driver turns a bucket back into one by
// passing every call through. StartStore and Main are the tests' shared
// set-up around it.
package conformance

import (
	"context"
	"flag"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/blob/drivertest"
	"gocloud.dev/gcerrors"

	"github.com/cairnbackup/cairn/test/objstore"
)

// Driver is b seen as a driver.Bucket. Errors stay the inner bucket's, so
// gcerrors codes and ErrorAs reach the real driver's.
func Driver(b *blob.Bucket) driver.Bucket { return bucket{b} }

type bucket struct{ b *blob.Bucket }

func (d bucket) ErrorCode(err error) gcerrors.ErrorCode { return gcerrors.Code(err) }
func (d bucket) As(i any) bool                          { return d.b.As(i) }
func (d bucket) ErrorAs(err error, i any) bool          { return d.b.ErrorAs(err, i) }
func (d bucket) Close() error                           { return d.b.Close() }

func (d bucket) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	a, err := d.b.Attributes(ctx, key)
	if err != nil {
		return nil, err
	}
	return &driver.Attributes{
		CacheControl: a.CacheControl, ContentDisposition: a.ContentDisposition, ContentEncoding: a.ContentEncoding,
		ContentLanguage: a.ContentLanguage, ContentType: a.ContentType, Metadata: a.Metadata,
		CreateTime: a.CreateTime, ModTime: a.ModTime, Size: a.Size, MD5: a.MD5, ETag: a.ETag, AsFunc: a.As,
	}, nil
}

func (d bucket) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	token := opts.PageToken
	if len(token) == 0 {
		token = blob.FirstPageToken // a driver's first page is nil, ListPage's this
	}
	objs, next, err := d.b.ListPage(ctx, token, pageSize(opts.PageSize),
		&blob.ListOptions{Prefix: opts.Prefix, Delimiter: opts.Delimiter, BeforeList: opts.BeforeList})
	if err != nil {
		return nil, err
	}
	page := &driver.ListPage{NextPageToken: next}
	for _, o := range objs {
		page.Objects = append(page.Objects, &driver.ListObject{Key: o.Key, ModTime: o.ModTime, Size: o.Size, MD5: o.MD5, IsDir: o.IsDir, AsFunc: o.As})
	}
	return page, nil
}

// pageSize is the inner ListPage's page size for a driver request (zero
// there means "the default", which ListPage spells as a size too).
func pageSize(n int) int {
	if n <= 0 {
		return 1000
	}
	return n
}

func (d bucket) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	r, err := d.b.NewRangeReader(ctx, key, offset, length, &blob.ReaderOptions{BeforeRead: opts.BeforeRead})
	if err != nil {
		return nil, err
	}
	return reader{r}, nil
}

type reader struct{ r *blob.Reader }

func (r reader) Read(p []byte) (int, error) { return r.r.Read(p) }
func (r reader) Close() error               { return r.r.Close() }
func (r reader) As(i any) bool              { return r.r.As(i) }
func (r reader) Attributes() *driver.ReaderAttributes {
	return &driver.ReaderAttributes{ContentType: r.r.ContentType(), ModTime: r.r.ModTime(), Size: r.r.Size()}
}

func (d bucket) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	w, err := d.b.NewWriter(ctx, key, &blob.WriterOptions{
		BufferSize: opts.BufferSize, MaxConcurrency: opts.MaxConcurrency, CacheControl: opts.CacheControl,
		ContentDisposition: opts.ContentDisposition, ContentEncoding: opts.ContentEncoding, ContentLanguage: opts.ContentLanguage,
		ContentType: contentType, DisableContentTypeDetection: true, ContentMD5: opts.ContentMD5, Metadata: opts.Metadata,
		BeforeWrite: opts.BeforeWrite, IfNotExist: opts.IfNotExist,
	})
	if err != nil {
		return nil, err
	}
	return writer{w}, nil
}

type writer struct{ w *blob.Writer }

func (w writer) Write(p []byte) (int, error) { return w.w.Write(p) }
func (w writer) Close() error                { return w.w.Close() }

// ReadFrom lets the outer bucket's Upload reach the inner one.
func (w writer) ReadFrom(r io.Reader) (int64, error) { return w.w.ReadFrom(r) }

func (d bucket) Copy(ctx context.Context, dst, src string, opts *driver.CopyOptions) error {
	return d.b.Copy(ctx, dst, src, &blob.CopyOptions{BeforeCopy: opts.BeforeCopy})
}

func (d bucket) Delete(ctx context.Context, key string, opts *driver.DeleteOptions) error {
	return d.b.DeleteWithOptions(ctx, key, &blob.DeleteOptions{BeforeDelete: opts.BeforeDelete})
}

func (d bucket) SignedURL(ctx context.Context, key string, opts *driver.SignedURLOptions) (string, error) {
	return d.b.SignedURL(ctx, key, &blob.SignedURLOptions{
		Expiry: opts.Expiry, Method: opts.Method, ContentType: opts.ContentType,
		EnforceAbsentContentType: opts.EnforceAbsentContentType, BeforeSign: opts.BeforeSign,
	})
}

// Main runs a package's tests with the conformance subtests in gaps (a
// -skip pattern) skipped, unless the run gives its own -skip. Emulators
// fall short of the real services in a few documented places; each
// package lists its emulator's, with the reason, and the rest of the
// suite runs.
func Main(m *testing.M, gaps string) {
	flag.Parse()
	if f := flag.Lookup("test.skip"); f != nil && f.Value.String() == "" {
		_ = f.Value.Set(gaps)
	}
	os.Exit(m.Run())
}

// StartStore starts an emulator on loopback with one empty bucket and
// stops it when the test ends. When its binary is not built (make
// tools-storage builds them) the test is skipped, unless
// CAIRN_REQUIRE_TOOLS=1 (set by make test after building the tools),
// where the missing binary fails it.
func StartStore(t testing.TB, start func(context.Context, string) (*objstore.Server, error), bucket string) *objstore.Server {
	t.Helper()
	srv, err := start(context.Background(), "127.0.0.1:0")
	if err != nil && strings.Contains(err.Error(), "not built") && os.Getenv("CAIRN_REQUIRE_TOOLS") != "1" {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	if err := srv.CreateBucket(context.Background(), bucket); err != nil {
		t.Fatal(err)
	}
	return srv
}

// Harness is the drivertest.Harness of a store whose buckets Open opens.
type Harness struct {
	// Open opens a bucket the way cairn does.
	Open func(ctx context.Context, bucket string) (*blob.Bucket, error)
	// Bucket exists and is empty; "no-such-bucket" must not exist.
	Bucket string
	// Client fetches signed URLs (nil: the store makes none).
	Client *http.Client
	// NonSlashDelimiters says the store lists with other delimiters
	// than "/" correctly.
	NonSlashDelimiters bool
}

// Run runs gocloud's conformance suite on h.
func Run(t *testing.T, h Harness) {
	drivertest.RunConformanceTests(t, func(context.Context, *testing.T) (drivertest.Harness, error) { return h, nil }, nil)
}

func (h Harness) open(ctx context.Context, bucket string) (driver.Bucket, error) {
	b, err := h.Open(ctx, bucket)
	if err != nil {
		return nil, err
	}
	return Driver(b), nil
}

// MakeDriver implements drivertest.Harness.
func (h Harness) MakeDriver(ctx context.Context) (driver.Bucket, error) { return h.open(ctx, h.Bucket) }

// MakeDriverForNonexistentBucket implements drivertest.Harness.
func (h Harness) MakeDriverForNonexistentBucket(ctx context.Context) (driver.Bucket, error) {
	return h.open(ctx, "no-such-bucket")
}

// HTTPClient implements drivertest.Harness.
func (h Harness) HTTPClient() *http.Client { return h.Client }

// SupportsCopy implements drivertest.Harness.
func (h Harness) SupportsCopy() bool { return true }

// SupportsNonSlashDelimiters implements drivertest.Harness.
func (h Harness) SupportsNonSlashDelimiters() bool { return h.NonSlashDelimiters }

// Close implements drivertest.Harness.
func (h Harness) Close() {}
