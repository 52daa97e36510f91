// Package backend opens object storage through gocloud.dev/blob and gives the
// repository the few operations it needs — write-once put, get, ranged get,
// list, delete — with retries on transient errors and errors that say what
// went wrong (missing bucket, no permission, not found, already exists).
package backend

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo/backend/fsblob"
	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/directupload"
	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/errs"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// Sentinel errors. Errors returned by Backend wrap one of these when the
// condition applies, so callers test with errors.Is.
var (
	// ErrNotFound means the object does not exist.
	ErrNotFound = errors.New("object not found")
	// ErrExists means a write-once object already exists; for content-named
	// objects it means the same bytes are already stored.
	ErrExists = errors.New("object already exists")
	// ErrPermission means the credentials may not perform the operation.
	ErrPermission = errors.New("permission denied")
	// ErrNoBucket means the bucket or directory does not exist.
	ErrNoBucket = errors.New("bucket does not exist")
	// ErrInvalid means the URL or the credentials given are malformed or
	// contradict each other: retrying cannot help, the configuration must
	// change.
	ErrInvalid = errs.ErrInvalid
)

// Options tune Open.
type Options struct {
	// Create makes a missing file:// directory (used by repository init).
	Create bool
	// Retry controls retries of transient errors; zero means DefaultRetry.
	Retry RetryPolicy
	// Credentials, when set, are used instead of the provider's default
	// chain (environment, shared profiles, workload identity, metadata
	// services). Nil means the default chain.
	Credentials *Credentials
}

// Backend is an opened bucket. It is safe for concurrent use.
type Backend struct {
	bucket *blob.Bucket
	url    string // redacted form, safe to print
	retry  RetryPolicy
	local  bool
	scheme string
	put    directupload.Func // nil: write through a blob.Writer
	prefix string            // key prefix inside the bucket, for put
}

// Open opens the bucket named by rawURL. Supported schemes are file://,
// mem://, s3:// (query parameters: see s3.URLOpener; credentials from the
// standard AWS sources),
// gs:// and azblob://. It checks that the bucket is reachable so that a wrong
// name or missing permission is reported here, not in the middle of a backup.
func Open(ctx context.Context, rawURL string, opts Options) (*Backend, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("invalid repository URL %q: want scheme://bucket[/prefix], e.g. file:///srv/backup or s3://bucket/prefix?region=us-east-1", Redact(rawURL))
	}
	if u.Scheme == "file" {
		if err := prepareFileURL(u, opts.Create); err != nil {
			return nil, err
		}
	}
	prefix := ""
	if u.Scheme != "file" && u.Scheme != "mem" && strings.Trim(u.Path, "/") != "" {
		// For object stores the path is a key prefix inside the bucket.
		prefix = strings.Trim(u.Path, "/") + "/"
		u.Path = ""
	}
	b, put, err := openBucket(ctx, u, opts.Credentials)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", Redact(rawURL), classify(err))
	}
	if prefix != "" {
		b = blob.PrefixedBucket(b, prefix)
	}
	be := &Backend{bucket: b, url: Redact(rawURL), retry: opts.Retry.withDefaults(), local: u.Scheme == "file", scheme: u.Scheme, put: put, prefix: prefix}
	if u.Scheme != "mem" && u.Scheme != "file" {
		if err := be.checkAccess(ctx); err != nil {
			b.Close()
			return nil, err
		}
	}
	return be, nil
}

// prepareFileURL checks (or with create, makes) the directory, so that a
// missing or unusable one is reported with a sentinel error. The driver
// (fsblob) does the rest: temporary files beside their target, fsync, and
// an atomic write-once publish.
func prepareFileURL(u *url.URL, create bool) error {
	dir := u.Path
	if dir == "" {
		return fmt.Errorf("invalid repository URL %q: file:// needs an absolute path, e.g. file:///srv/backup", u.String())
	}
	st, err := os.Stat(dir)
	switch {
	case err == nil && !st.IsDir():
		return fmt.Errorf("repository path %s is a file, not a directory", dir)
	case errors.Is(err, os.ErrNotExist) && create:
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create repository directory %s: %w", dir, classify(err))
		}
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("repository directory %s: %w", dir, ErrNoBucket)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("repository directory %s: %w", dir, ErrPermission)
	case err != nil:
		return fmt.Errorf("repository directory %s: %w", dir, err)
	}
	return nil
}

func (b *Backend) checkAccess(ctx context.Context) error {
	err := b.retry.do(ctx, func() error {
		it := b.bucket.List(&blob.ListOptions{Prefix: "config"})
		_, err := it.Next(ctx)
		if err == io.EOF {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("open %s: %w", b.url, classify(err))
	}
	return nil
}

// URL returns the repository URL with any credentials removed, for messages.
func (b *Backend) URL() string { return b.url }

// Close releases the bucket.
func (b *Backend) Close() error { return b.bucket.Close() }

// Put stores data under key only if key does not exist yet (a conditional
// create), so an object is never overwritten. It returns an error wrapping
// ErrExists when the key is already present, also when an earlier attempt of
// this same call succeeded before a transient error was reported. A failed
// attempt is aborted, never finished: nothing, not even a truncated object,
// appears under key.
func (b *Backend) Put(ctx context.Context, key string, data []byte) error {
	if b.put != nil && directupload.Plain(b.prefix+key) {
		// The SDK sends the caller's slice itself, in one request: a
		// 15 MiB pack is not copied into a write buffer first. A request
		// that fails stores nothing, so there is no half-written object
		// to abort.
		err := b.retry.do(ctx, func() error { return b.put(ctx, b.prefix+key, data) })
		if err != nil {
			return fmt.Errorf("write %s: %w", key, classify(err))
		}
		return nil
	}
	err := b.retry.do(ctx, func() error {
		// Not WriteAll: it runs MD5 over the data twice. Objects are verified
		// by their own authenticated encryption, so MD5 adds nothing.
		return b.writeOnce(ctx, key, func(w *blob.Writer) error {
			_, err := w.Write(data)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", key, classify(err))
	}
	return nil
}

// writeOnce writes one object through fill. If fill fails, the writer's
// context is cancelled before it is closed, which is how gocloud.dev aborts
// a write: closing an uncancelled writer would commit whatever part of the
// object was written (fileblob renames its temporary file into place).
func (b *Backend) writeOnce(ctx context.Context, key string, fill func(*blob.Writer) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := b.bucket.NewWriter(ctx, key, b.writerOptions())
	if err != nil {
		return err
	}
	if err := fill(w); err != nil {
		cancel()
		_ = closeWriter(w)
		return err
	}
	return closeWriter(w)
}

// Get reads a whole object.
func (b *Backend) Get(ctx context.Context, key string) ([]byte, error) {
	var data []byte
	err := b.retry.do(ctx, func() error {
		r, err := b.bucket.NewReader(ctx, key, nil)
		if err != nil {
			return err
		}
		defer r.Close()
		data, err = io.ReadAll(r)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, classify(err))
	}
	return data, nil
}

// GetRange reads length bytes at offset of an object. A short object is
// reported as an error naming the object, never as silently short data.
func (b *Backend) GetRange(ctx context.Context, key string, offset, length int64) ([]byte, error) {
	return b.GetRangeInto(ctx, key, offset, length, nil)
}

// GetRangeInto is GetRange reading into buf's memory when its capacity
// holds length bytes (a reader that pools its buffers allocates nothing).
func (b *Backend) GetRangeInto(ctx context.Context, key string, offset, length int64, buf []byte) ([]byte, error) {
	if int64(cap(buf)) >= length {
		buf = buf[:length]
	} else {
		buf = make([]byte, length)
	}
	err := b.retry.do(ctx, func() error {
		r, err := b.bucket.NewRangeReader(ctx, key, offset, length, nil)
		if err != nil {
			return err
		}
		defer r.Close()
		_, err = io.ReadFull(r, buf)
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return permanent(fmt.Errorf("object is truncated: wanted %d bytes at offset %d", length, offset))
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read %s [%d+%d]: %w", key, offset, length, classify(err))
	}
	return buf, nil
}

// closeWriter closes w, converting a panic inside the storage driver into an
// error so that a driver bug fails one write instead of the process.
func closeWriter(w *blob.Writer) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("storage driver failed while finishing the write (the object may already exist): %v", p)
		}
	}()
	return w.Close()
}

func (b *Backend) writerOptions() *blob.WriterOptions {
	return &blob.WriterOptions{IfNotExist: true, ContentType: "application/octet-stream"}
}

// Local reports whether the backend is a local directory (file://), where
// streaming a pack straight to its file is safe and saves memory.
func (b *Backend) Local() bool { return b.local }

// MakeDirs prepares a local directory (file://) for keys under each
// prefix (ending in "/"): it makes their directories durably now, so no
// later write waits for a mkdir and a directory fsync. Object stores have
// no directories; there it does nothing.
func (b *Backend) MakeDirs(prefixes []string) error {
	var d fsblob.Dirs
	if !b.bucket.As(&d) {
		return nil
	}
	if err := d.Make(prefixes); err != nil {
		return classify(err)
	}
	return nil
}

// StreamWriter writes one object incrementally; nothing is visible under
// the key until Close succeeds. Use it only where a failed write can be
// redone from the source (it is not retried). Writes are gathered into
// streamBuffer-sized pieces: a pack of many small blobs (a tree of small
// files) is then a few hundred write calls instead of one per blob.
type StreamWriter struct {
	w      *blob.Writer
	buf    *bufio.Writer
	key    string
	cancel context.CancelFunc // aborts the write: nothing becomes visible
}

// streamBuffer is the size of a StreamWriter's write buffer.
const streamBuffer = 256 << 10

// NewStreamWriter starts a write-once object.
func (b *Backend) NewStreamWriter(ctx context.Context, key string) (*StreamWriter, error) {
	ctx, cancel := context.WithCancel(ctx)
	w, err := b.bucket.NewWriter(ctx, key, b.writerOptions())
	if err != nil {
		cancel()
		return nil, fmt.Errorf("write %s: %w", key, classify(err))
	}
	return &StreamWriter{w: w, buf: bufio.NewWriterSize(w, streamBuffer), key: key, cancel: cancel}, nil
}

// Write appends p. An error may also come from an earlier Write's bytes,
// which the buffer was holding; either way the object cannot be finished.
func (s *StreamWriter) Write(p []byte) error {
	if _, err := s.buf.Write(p); err != nil {
		return fmt.Errorf("write %s: %w", s.key, classify(err))
	}
	return nil
}

// Close writes what is buffered, finishes the object and makes it
// visible. If the buffered bytes cannot be written the write is aborted:
// a truncated object never becomes visible.
func (s *StreamWriter) Close() error {
	defer s.cancel()
	if err := s.buf.Flush(); err != nil {
		s.cancel()
		_ = closeWriter(s.w)
		return fmt.Errorf("write %s: %w", s.key, classify(err))
	}
	if err := closeWriter(s.w); err != nil {
		return fmt.Errorf("write %s: %w", s.key, classify(err))
	}
	return nil
}

// Size returns the size of an object.
func (b *Backend) Size(ctx context.Context, key string) (int64, error) {
	o, err := b.Stat(ctx, key)
	return o.Size, err
}

// Stat returns an object's size and the time the store recorded for its
// write (zero if the store does not report one).
func (b *Backend) Stat(ctx context.Context, key string) (Object, error) {
	o := Object{Key: key}
	err := b.retry.do(ctx, func() error {
		a, err := b.bucket.Attributes(ctx, key)
		if err != nil {
			return err
		}
		o.Size, o.ModTime = a.Size, a.ModTime
		return nil
	})
	if err != nil {
		return Object{}, fmt.Errorf("stat %s: %w", key, classify(err))
	}
	return o, nil
}

// Delete removes an object. Deleting a missing object is not an error, so a
// prune that was interrupted can simply run again.
func (b *Backend) Delete(ctx context.Context, key string) error {
	err := b.retry.do(ctx, func() error { return b.bucket.Delete(ctx, key) })
	if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("delete %s: %w", key, classify(err))
	}
	return nil
}

// Object is one listed object.
type Object struct {
	Key     string
	Size    int64
	ModTime time.Time // zero if the store does not report it
}

// List calls fn for every object whose key starts with prefix, in key order
// (for stores that list in order). It stops at the first error from fn.
// Temporary files of unfinished writes on file:// are not listed.
func (b *Backend) List(ctx context.Context, prefix string, fn func(Object) error) error {
	return b.list(ctx, prefix, false, fn)
}

// ListTemporary lists only the temporary files of unfinished writes
// (file:// keeps them next to the object until the write finishes; a killed
// process leaves them behind).
func (b *Backend) ListTemporary(ctx context.Context, prefix string, fn func(Object) error) error {
	if !b.local {
		return nil
	}
	return b.list(ctx, prefix, true, fn)
}

func isTemporary(key string) bool { return strings.HasSuffix(key, ".tmp") }

func (b *Backend) list(ctx context.Context, prefix string, temporary bool, fn func(Object) error) error {
	var token = blob.FirstPageToken
	for {
		var page []*blob.ListObject
		var next []byte
		var err error
		// A file store lists by walking directories, and an object deleted
		// during the walk (a concurrent prune) fails the page with NotFound:
		// list that page again.
		for attempt := 0; attempt < 10; attempt++ {
			err = b.retry.do(ctx, func() error {
				var err error
				page, next, err = b.bucket.ListPage(ctx, token, 1000, &blob.ListOptions{Prefix: prefix})
				return err
			})
			if gcerrors.Code(err) != gcerrors.NotFound {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("list %s*: %w", prefix, classify(err))
		}
		for _, o := range page {
			if o.IsDir || strings.HasSuffix(o.Key, ".attrs") || isTemporary(o.Key) != temporary {
				continue
			}
			if err := fn(Object{Key: o.Key, Size: o.Size, ModTime: o.ModTime}); err != nil {
				return err
			}
		}
		if len(next) == 0 {
			return nil
		}
		token = next
	}
}

// Redact removes user info and secret-looking query parameters from a URL so
// that it can be logged.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	q := u.Query()
	for k := range q {
		lk := strings.ToLower(k)
		if strings.Contains(lk, "secret") || strings.Contains(lk, "key") || strings.Contains(lk, "token") ||
			strings.Contains(lk, "password") || strings.Contains(lk, "sig") {
			q.Set(k, "REDACTED")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
