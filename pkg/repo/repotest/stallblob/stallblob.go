// Package stallblob is a storage driver for tests of what happens when the
// object store stops answering mid-backup. A stall bucket (see URL) is the
// file:// bucket on a directory, except that every write
// under data/ after the first N is sent as an HTTP PUT to server, which a
// test runs as a listener that accepts connections and then never reads or
// answers (see Hang): exactly what a client sees of a stopped (SIGSTOP) or
// partitioned S3 endpoint. Only the writer's context can end such a write.
// Importing the package registers the stall scheme.
package stallblob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/gcerrors"
)

// Scheme is the URL scheme this package registers.
const Scheme = "stall"

func init() { blob.DefaultURLMux().RegisterBucket(Scheme, opener{}) }

type opener struct{}

// OpenBucketURL opens stall://x?dir=DIR&after=N&server=HOST:PORT.
func (opener) OpenBucketURL(ctx context.Context, u *url.URL) (*blob.Bucket, error) {
	after, err := strconv.Atoi(u.Query().Get("after"))
	if err != nil {
		return nil, fmt.Errorf("stall URL needs after=N: %w", err)
	}
	inner, err := fileblob.OpenBucket(u.Query().Get("dir"), &fileblob.Options{Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		return nil, err
	}
	return blob.NewBucket(&bucket{inner: inner, after: int64(after), server: u.Query().Get("server")}), nil
}

// Hang starts a listener that accepts connections and never reads from or
// answers them, and returns its address and a channel closed when the
// first connection arrives (a write has begun to hang). It stops with the
// test.
func Hang(t testing.TB) (addr string, hanging <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	first := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if conns = append(conns, c); len(conns) == 1 { // held open, never read
				close(first)
			}
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String(), first
}

type bucket struct {
	inner  *blob.Bucket
	after  int64
	server string
	writes atomic.Int64
}

func (b *bucket) ErrorCode(err error) gcerrors.ErrorCode { return gcerrors.Code(err) }
func (b *bucket) As(any) bool                            { return false }
func (b *bucket) ErrorAs(err error, target any) bool     { return errors.As(err, target) }
func (b *bucket) Close() error                           { return b.inner.Close() }

func (b *bucket) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	a, err := b.inner.Attributes(ctx, key)
	if err != nil {
		return nil, err
	}
	return &driver.Attributes{Size: a.Size, ModTime: a.ModTime}, nil
}

func (b *bucket) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	token := opts.PageToken
	if token == nil {
		token = blob.FirstPageToken
	}
	size := opts.PageSize
	if size <= 0 {
		size = 1000
	}
	page, next, err := b.inner.ListPage(ctx, token, size, &blob.ListOptions{Prefix: opts.Prefix, Delimiter: opts.Delimiter})
	if err != nil {
		return nil, err
	}
	out := &driver.ListPage{NextPageToken: next}
	for _, o := range page {
		out.Objects = append(out.Objects, &driver.ListObject{Key: o.Key, ModTime: o.ModTime, Size: o.Size, IsDir: o.IsDir})
	}
	return out, nil
}

func (b *bucket) NewRangeReader(ctx context.Context, key string, offset, length int64, _ *driver.ReaderOptions) (driver.Reader, error) {
	r, err := b.inner.NewRangeReader(ctx, key, offset, length, nil)
	if err != nil {
		return nil, err
	}
	return reader{r}, nil
}

type reader struct{ *blob.Reader }

func (r reader) Attributes() *driver.ReaderAttributes {
	return &driver.ReaderAttributes{Size: r.Size(), ModTime: r.ModTime()}
}
func (r reader) As(any) bool { return false }

func (b *bucket) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	if !strings.HasPrefix(key, "data/") || b.writes.Add(1) <= b.after {
		return b.inner.NewWriter(ctx, key, &blob.WriterOptions{ContentType: contentType, IfNotExist: opts.IfNotExist})
	}
	pr, pw := io.Pipe()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+b.server+"/"+key, pr)
	if err != nil {
		return nil, err
	}
	w := &hungWriter{pw: pw, done: make(chan error, 1)}
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("stall server answered %s", resp.Status)
		}
		pr.CloseWithError(err)
		w.done <- err
	}()
	return w, nil
}

// hungWriter streams into an HTTP request the server never reads: Write
// blocks once the connection's buffers are full, Close waits for an answer
// that never comes; both end only when the request's context does.
type hungWriter struct {
	pw   *io.PipeWriter
	done chan error
}

func (w *hungWriter) Write(p []byte) (int, error) { return w.pw.Write(p) }

func (w *hungWriter) Close() error {
	w.pw.Close()
	return <-w.done
}

func (b *bucket) Copy(context.Context, string, string, *driver.CopyOptions) error {
	return errors.ErrUnsupported
}

func (b *bucket) Delete(ctx context.Context, key string, _ *driver.DeleteOptions) error {
	return b.inner.Delete(ctx, key)
}

func (b *bucket) SignedURL(context.Context, string, *driver.SignedURLOptions) (string, error) {
	return "", errors.ErrUnsupported
}

// URL returns the URL of a stall bucket on dir whose writes under data/
// after the first after go to the hung server at addr. The directory is a
// query parameter because the engine reads the path of a URL that is not
// file:// as a key prefix.
func URL(dir string, after int, addr string) string {
	q := url.Values{"dir": {dir}, "after": {strconv.Itoa(after)}, "server": {addr}}
	return Scheme + "://bucket?" + q.Encode()
}
