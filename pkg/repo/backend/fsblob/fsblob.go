// Package fsblob is Cairn's gocloud.dev/blob driver for file:// URLs: a
// repository in a local or NFS directory (the backend of local and NFS
// BackupStorages). It exists because gocloud's fileblob never calls fsync
// and checks write-once with a stat before its rename, while a backup
// store must survive a node crash and two writers in two processes:
//
//   - a write goes to a temporary file beside its target, is fsynced, and
//     is then linked (write-once) or renamed into place, after which the
//     directory is fsynced, so after a crash an object is either absent or
//     complete under its final name, never empty or truncated;
//   - a write-once (IfNotExist) object is published with link(2), which
//     fails if the name exists, atomically also across processes and
//     machines sharing an NFS export; where hard links are not supported
//     renameat2(RENAME_NOREPLACE) does the same;
//   - a write whose context is cancelled removes its temporary file and
//     publishes nothing.
//
// Temporary files end in ".tmp"; the engine lists them separately (prune
// removes those of killed processes). Keys are slash-separated relative
// paths without "." or ".." elements. Importing the package registers the
// file scheme.
package fsblob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"
)

// Scheme is the URL scheme this driver registers.
const Scheme = "file"

// TempSuffix ends the name of every temporary file of a write in progress.
const TempSuffix = ".tmp"

func init() { blob.DefaultURLMux().RegisterBucket(Scheme, URLOpener{}) }

// URLOpener opens file:///absolute/dir URLs. They take no query parameters.
type URLOpener struct{}

// OpenBucketURL opens the directory u names, which must exist.
func (URLOpener) OpenBucketURL(_ context.Context, u *url.URL) (*blob.Bucket, error) {
	if len(u.Query()) > 0 {
		return nil, fmt.Errorf("file:// URLs take no query parameters, got %q", u.RawQuery)
	}
	return OpenBucket(u.Path)
}

// OpenBucket opens dir, an existing directory, as a bucket.
func OpenBucket(dir string) (*blob.Bucket, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("file:// needs an absolute path, got %q", dir)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, &fs.PathError{Op: "open bucket", Path: dir, Err: errors.New("not a directory")}
	}
	return blob.NewBucket(&bucket{root: filepath.Clean(dir), fs: osFS{}}), nil
}

type bucket struct {
	root string
	fs   fileSystem
}

// path maps a key to its file, refusing keys that would leave the root.
func (b *bucket) path(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") || strings.Contains(key, "\\") {
		return "", fmt.Errorf("fsblob: invalid key %q: %w", key, fs.ErrInvalid)
	}
	for _, el := range strings.Split(key, "/") {
		if el == "" || el == "." || el == ".." {
			return "", fmt.Errorf("fsblob: invalid key %q: %w", key, fs.ErrInvalid)
		}
	}
	return filepath.Join(b.root, filepath.FromSlash(key)), nil
}

// ErrorCode maps file-system errors to gocloud's codes; the write-once
// conflict is FailedPrecondition, as gocloud documents for IfNotExist.
func (b *bucket) ErrorCode(err error) gcerrors.ErrorCode {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return gcerrors.NotFound
	case errors.Is(err, fs.ErrExist):
		return gcerrors.FailedPrecondition
	case errors.Is(err, fs.ErrPermission):
		return gcerrors.PermissionDenied
	case errors.Is(err, fs.ErrInvalid):
		return gcerrors.InvalidArgument
	case errors.Is(err, errors.ErrUnsupported):
		return gcerrors.Unimplemented
	}
	return gcerrors.Unknown
}

// As gives *Dirs access to the bucket's directories.
func (b *bucket) As(i any) bool {
	d, ok := i.(*Dirs)
	if ok {
		*d = Dirs{b: b}
	}
	return ok
}

func (b *bucket) ErrorAs(err error, target any) bool { return errors.As(err, target) }
func (b *bucket) Close() error                       { return nil }

func (b *bucket) Attributes(_ context.Context, key string) (*driver.Attributes, error) {
	p, err := b.path(key)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, &fs.PathError{Op: "stat", Path: p, Err: fs.ErrNotExist}
	}
	return &driver.Attributes{Size: st.Size(), ModTime: st.ModTime(), ContentType: "application/octet-stream"}, nil
}

func (b *bucket) NewRangeReader(_ context.Context, key string, offset, length int64, _ *driver.ReaderOptions) (driver.Reader, error) {
	p, err := b.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
	}
	var r io.Reader = f
	if length >= 0 {
		r = io.LimitReader(f, length)
	}
	return &reader{r: r, f: f, attrs: driver.ReaderAttributes{Size: st.Size(), ModTime: st.ModTime(), ContentType: "application/octet-stream"}}, nil
}

type reader struct {
	r     io.Reader
	f     *os.File
	attrs driver.ReaderAttributes
}

func (r *reader) Read(p []byte) (int, error)           { return r.r.Read(p) }
func (r *reader) Close() error                         { return r.f.Close() }
func (r *reader) Attributes() *driver.ReaderAttributes { return &r.attrs }
func (r *reader) As(any) bool                          { return false }

// Copy is not offered: the engine never copies objects.
func (b *bucket) Copy(context.Context, string, string, *driver.CopyOptions) error {
	return fmt.Errorf("fsblob: copy: %w", errors.ErrUnsupported)
}

// Delete removes the object. The directory is not fsynced: a delete lost
// in a crash is redone by the next prune.
func (b *bucket) Delete(_ context.Context, key string, _ *driver.DeleteOptions) error {
	p, err := b.path(key)
	if err != nil {
		return err
	}
	return os.Remove(p)
}

// SignedURL is not offered: a directory has no URLs to sign.
func (b *bucket) SignedURL(context.Context, string, *driver.SignedURLOptions) (string, error) {
	return "", fmt.Errorf("fsblob: signed URLs: %w", errors.ErrUnsupported)
}
