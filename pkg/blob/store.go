package blob

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

// ErrRecord marks a metadata.yaml or repository.yaml that is there but
// cannot be read as Cairn's record (not YAML, fields missing, a newer
// version).
var ErrRecord = errors.New("not a record Cairn can read")

// ReadStorageMetadata reads metadata.yaml from an opened storage; it
// returns an error wrapping backend.ErrNotFound when there is none.
func ReadStorageMetadata(ctx context.Context, b *backend.Backend) (*StorageMetadata, error) {
	data, err := b.Get(ctx, MetadataKey)
	if err != nil {
		return nil, err
	}
	m, err := ParseStorageMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("%s in %s: %w: %v", MetadataKey, b.URL(), ErrRecord, err)
	}
	return m, nil
}

// CreateStorageMetadata writes metadata.yaml if none exists (a
// conditional create); an error wrapping backend.ErrExists means another
// writer was first.
func CreateStorageMetadata(ctx context.Context, b *backend.Backend, m *StorageMetadata) error {
	m.Version = LayoutVersion
	data, err := Encode(m)
	if err != nil {
		return err
	}
	return b.Put(ctx, MetadataKey, data)
}

// RepositoryKey is the key of dir's repository.yaml.
func RepositoryKey(dir string) string { return path.Join(dir, RepositoryFile) }

// ReadRepositoryMetadata reads dir's repository.yaml; it returns an error
// wrapping backend.ErrNotFound when there is none.
func ReadRepositoryMetadata(ctx context.Context, b *backend.Backend, dir string) (*RepositoryMetadata, error) {
	data, err := b.Get(ctx, RepositoryKey(dir))
	if err != nil {
		return nil, err
	}
	m, err := ParseRepositoryMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("%s in %s: %w: %v", RepositoryKey(dir), b.URL(), ErrRecord, err)
	}
	return m, nil
}

// CreateRepositoryMetadata writes dir's repository.yaml if none exists;
// an error wrapping backend.ErrExists means another writer was first.
func CreateRepositoryMetadata(ctx context.Context, b *backend.Backend, dir string, m *RepositoryMetadata) error {
	m.Version = LayoutVersion
	data, err := Encode(m)
	if err != nil {
		return err
	}
	return b.Put(ctx, RepositoryKey(dir), data)
}

// FoundRepository is a repository.yaml found in a storage.
type FoundRepository struct {
	// Dir is the repository's directory under the storage's prefix.
	Dir string
	// Meta is the parsed record, nil when Err says why it cannot be read.
	Meta *RepositoryMetadata
	Err  error
}

// FindRepositories lists every <dir>/repository.yaml under the storage's
// prefix. It lists every object of the storage: the backend has no
// delimited listing, so callers run it only when adopting a storage.
func FindRepositories(ctx context.Context, b *backend.Backend) ([]FoundRepository, error) {
	var dirs []string
	err := b.List(ctx, "", func(o backend.Object) error {
		if dir, ok := strings.CutSuffix(o.Key, "/"+RepositoryFile); ok && dir != "" {
			dirs = append(dirs, dir)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]FoundRepository, 0, len(dirs))
	for _, dir := range dirs {
		m, err := ReadRepositoryMetadata(ctx, b, dir)
		out = append(out, FoundRepository{Dir: dir, Meta: m, Err: err})
	}
	return out, nil
}

// wipeBatch is how many keys Wipe holds at once: a large repository's
// key list never sits in memory whole.
const wipeBatch = 1000

var errBatchFull = errors.New("batch full")

// Wipe deletes every object whose key starts with prefix ("" is the whole
// storage, "dir/" one repository) and returns how many it deleted. It
// stops at the first failure; running it again continues.
func Wipe(ctx context.Context, b *backend.Backend, prefix string) (int, error) {
	deleted := 0
	for {
		keys := make([]string, 0, wipeBatch)
		err := b.List(ctx, prefix, func(o backend.Object) error {
			keys = append(keys, o.Key)
			if len(keys) == wipeBatch {
				return errBatchFull
			}
			return nil
		})
		if err != nil && !errors.Is(err, errBatchFull) {
			return deleted, err
		}
		for _, k := range keys {
			if err := b.Delete(ctx, k); err != nil {
				return deleted, err
			}
			deleted++
		}
		if len(keys) < wipeBatch {
			return deleted, nil
		}
	}
}

// IsNotFound reports an error of a read of a missing record.
func IsNotFound(err error) bool { return errors.Is(err, backend.ErrNotFound) }

// IsExists reports an error of a conditional create that found the key taken.
func IsExists(err error) bool { return errors.Is(err, backend.ErrExists) }
