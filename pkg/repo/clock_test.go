package repo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

// TestVerifyAfterStaysBelowTheGrace: issue 14 item 7. A VerifyAfter at or
// above the shortest prune grace period would let a plan be made and
// carried out inside a backup that never checks its packs; the repository
// refuses such options instead of trusting every caller to keep them apart.
func TestVerifyAfterStaysBelowTheGrace(t *testing.T) {
	ctx := context.Background()
	_, url := newRepo(t)
	if repo.MaxVerifyAfter >= repo.MinPruneGrace {
		t.Fatalf("MaxVerifyAfter %s is not below MinPruneGrace %s", repo.MaxVerifyAfter, repo.MinPruneGrace)
	}
	opts := testOpts
	opts.VerifyAfter = repo.MinPruneGrace
	if _, err := repo.Open(ctx, openBackend(t, url, false), "secret", opts); !errors.Is(err, repo.ErrInvalidOptions) {
		t.Fatalf("Open with VerifyAfter = the minimum grace: %v, want ErrInvalidOptions", err)
	}
	if _, err := repo.Init(ctx, openBackend(t, "file://"+t.TempDir(), false), "secret", opts); !errors.Is(err, repo.ErrInvalidOptions) {
		t.Fatalf("Init with VerifyAfter = the minimum grace: %v, want ErrInvalidOptions", err)
	}
	opts.VerifyAfter = repo.MaxVerifyAfter
	if _, err := repo.Open(ctx, openBackend(t, url, false), "secret", opts); err != nil {
		t.Fatal(err)
	}
}

// TestStoreTimeIsTheStoresStamp: StoreTime reads the time the store
// records for a write (on file:// the file system's), and leaves nothing
// behind.
func TestStoreTimeIsTheStoresStamp(t *testing.T) {
	ctx := context.Background()
	r, _ := newRepo(t)
	before := time.Now()
	got, err := r.StoreTime(ctx)
	after := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	if got.Before(before.Add(-time.Second)) || got.After(after.Add(time.Second)) {
		t.Fatalf("store time %s, not between %s and %s", got, before, after)
	}
	var left []string
	r.Backend().List(ctx, "", func(o backend.Object) error {
		if len(o.Key) > 6 && o.Key[:6] == "clock/" {
			left = append(left, o.Key)
		}
		return nil
	})
	if len(left) != 0 {
		t.Fatalf("clock objects left: %v", left)
	}
}
