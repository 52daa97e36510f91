package repo_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/repo/crypto"
	"github.com/cairnbackup/cairn/pkg/repo/keycache"
	"github.com/cairnbackup/cairn/pkg/repo/repotest"
)

// countingCache counts hits so a test can tell the password hash was skipped.
type countingCache struct {
	*keycache.Dir
	hits, stores int
}

func (c *countingCache) Load(id repo.ID, pw string) (*crypto.Key, bool) {
	k, ok := c.Dir.Load(id, pw)
	if ok {
		c.hits++
	}
	return k, ok
}

func (c *countingCache) Store(id repo.ID, pw string, k *crypto.Key) error {
	c.stores++
	return c.Dir.Store(id, pw, k)
}

func TestKeyCacheSkipsTheHashButNeverARevokedKey(t *testing.T) {
	ctx := context.Background()
	url := "file://" + t.TempDir() + "/repo"
	be, err := backend.Open(ctx, url, backend.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	cache := &countingCache{Dir: keycache.New(filepath.Join(t.TempDir(), "keys"))}
	opts := repotest.Options
	opts.KeyCache = cache
	r, err := repo.Init(ctx, be, "first", opts)
	if err != nil {
		t.Fatal(err)
	}
	sn, err := repotest.Backup(ctx, r, map[string][]byte{"f": []byte("data")})
	if err != nil {
		t.Fatal(err)
	}
	if cache.stores != 1 {
		t.Fatalf("init stored %d entries, want 1", cache.stores)
	}

	// A second open finds the key in the cache and reads the same data.
	r2, err := repo.Open(ctx, be, "first", opts)
	if err != nil {
		t.Fatal(err)
	}
	if cache.hits != 1 || r2.KeyID() != r.KeyID() {
		t.Fatalf("hits = %d, key %s; want a hit on %s", cache.hits, r2.KeyID().Short(), r.KeyID().Short())
	}
	files, err := repotest.ReadTree(ctx, r2, sn.Tree)
	if err != nil || string(files["f"]) != "data" {
		t.Fatalf("read through the cached key: %q, %v", files["f"], err)
	}

	// A wrong password misses the cache and fails as before.
	if _, err := repo.Open(ctx, be, "wrong", opts); !errors.Is(err, repo.ErrWrongPassword) {
		t.Fatalf("wrong password: %v, want ErrWrongPassword", err)
	}

	// Changing the password in the repository revokes the cached entry: the
	// old password no longer opens, although its entry is still on disk.
	if _, err := r2.ChangePassword(ctx, "second"); err != nil {
		t.Fatal(err)
	}
	hits := cache.hits
	if _, err := repo.Open(ctx, be, "first", opts); !errors.Is(err, repo.ErrWrongPassword) {
		t.Fatalf("old password after the change: %v, want ErrWrongPassword", err)
	}
	if cache.hits != hits {
		t.Fatal("the entry of a removed key file was used")
	}
	if _, err := repo.Open(ctx, be, "second", opts); err != nil {
		t.Fatalf("new password: %v", err)
	}
}
