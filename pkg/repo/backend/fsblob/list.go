package fsblob

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gocloud.dev/blob/driver"
)

// ListPaged lists objects whose keys start with opts.Prefix, in key order,
// temporary files included (they are objects being written; the engine
// tells them apart by TempSuffix). Only the flat listing the engine uses
// is offered: a delimiter is refused. The page token is the last key of
// the previous page. Directories are walked in key order (a directory's
// name sorts as if it ended in "/"), skipping every directory whose keys
// all sort before the token and stopping after one page, so listing a
// large repository page by page costs about one walk.
func (b *bucket) ListPaged(_ context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	if opts.Delimiter != "" {
		return nil, fmt.Errorf("fsblob: listing with a delimiter: %w", errors.ErrUnsupported)
	}
	l := &lister{prefix: opts.Prefix, after: string(opts.PageToken), size: opts.PageSize}
	if l.size <= 0 {
		l.size = 1000
	}
	// Walk from the deepest directory the prefix names.
	dirKey := ""
	if i := strings.LastIndex(opts.Prefix, "/"); i >= 0 {
		dirKey = opts.Prefix[:i+1]
	}
	if err := l.walk(filepath.Join(b.root, filepath.FromSlash(dirKey)), dirKey); err != nil && err != errPageFull {
		return nil, err
	}
	page := &driver.ListPage{}
	keys := l.keys
	if len(keys) > l.size {
		keys = keys[:l.size]
		page.NextPageToken = []byte(keys[l.size-1])
	}
	for _, key := range keys {
		st, err := os.Stat(filepath.Join(b.root, filepath.FromSlash(key)))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted since the walk (a concurrent prune)
		}
		if err != nil {
			return nil, err
		}
		page.Objects = append(page.Objects, &driver.ListObject{Key: key, Size: st.Size(), ModTime: st.ModTime()})
	}
	return page, nil
}

// errPageFull ends a walk that found one key more than a page holds.
var errPageFull = errors.New("page full")

type lister struct {
	prefix, after string
	size          int
	keys          []string
}

// walk adds the keys below dir (whose key prefix is dirKey) in key order.
func (l *lister) walk(dir, dirKey string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // absent, or removed meanwhile (a concurrent prune)
	}
	if err != nil {
		return err
	}
	sortName := func(e fs.DirEntry) string {
		if e.IsDir() {
			return e.Name() + "/"
		}
		return e.Name()
	}
	sort.Slice(entries, func(i, j int) bool { return sortName(entries[i]) < sortName(entries[j]) })
	for _, e := range entries {
		key := dirKey + sortName(e)
		if e.IsDir() {
			if !strings.HasPrefix(l.prefix, key) && !strings.HasPrefix(key, l.prefix) {
				continue // no key below can match the prefix
			}
			if key < l.after && !strings.HasPrefix(l.after, key) {
				continue // every key below sorts before the token
			}
			if err := l.walk(filepath.Join(dir, e.Name()), key); err != nil {
				return err
			}
			continue
		}
		if strings.HasPrefix(key, l.prefix) && key > l.after {
			if l.keys = append(l.keys, key); len(l.keys) > l.size {
				return errPageFull
			}
		}
	}
	return nil
}
