package repo_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

func lockObjects(t *testing.T, r *repo.Repository) []string {
	t.Helper()
	var keys []string
	if err := r.Backend().List(context.Background(), repo.LocksPrefix, func(o backend.Object) error { keys = append(keys, o.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestLockIsExclusiveAndRefreshed: issue 14 item 12. A second run (another
// handle, as another process or cluster would have) cannot take the lock
// while the first holds it, also after several TTLs during which the
// holder refreshed it; after Release it can, and nothing is left behind.
func TestLockIsExclusiveAndRefreshed(t *testing.T) {
	ctx := context.Background()
	a, url := newRepo(t)
	b, err := repo.Open(ctx, openBackend(t, url, false), "secret", testOpts)
	if err != nil {
		t.Fatal(err)
	}
	const ttl = 600 * time.Millisecond
	held, err := a.Lock(ctx, "job-a", ttl)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * ttl) // refreshed twice or more meanwhile
	_, err = b.Lock(ctx, "job-b", ttl)
	var locked *repo.LockedError
	if !errors.As(err, &locked) || !errors.Is(err, repo.ErrLocked) || locked.Owner != "job-a" {
		t.Fatalf("second lock while the first is held and refreshed: %v, want a LockedError naming job-a", err)
	}
	if err := held.Check(); err != nil {
		t.Fatalf("a refreshed lock fails Check: %v", err)
	}
	// A refresh writes the new object before it removes the old one, so
	// two may be seen for a moment; a leftover would stay.
	for i := 0; ; i++ {
		n := len(lockObjects(t, a))
		if n == 1 {
			break
		}
		if i == 20 {
			t.Fatalf("%d lock objects, want 1 (the refreshed one, and the refused taker's removed)", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := held.Release(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := b.Lock(ctx, "job-b", ttl)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	if err := again.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if keys := lockObjects(t, a); len(keys) != 0 {
		t.Fatalf("lock objects left: %v", keys)
	}
}

const lockChildEnv = "CAIRN_TEST_LOCK_CHILD_REPO"

// TestKilledHoldersLockExpires: a prune killed while holding the lock
// leaves its lock object. Until the store's clock passes its expiry no one
// else takes the lock; then the next run does, and removes the dead
// holder's object.
func TestKilledHoldersLockExpires(t *testing.T) {
	ctx := context.Background()
	const ttl = 2 * time.Second
	if url := os.Getenv(lockChildEnv); url != "" {
		be, err := openBackendNoTest(url)
		if err != nil {
			t.Fatal(err)
		}
		r, err := repo.Open(ctx, be, "secret", testOpts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Lock(ctx, "killed job", ttl); err != nil {
			t.Fatal(err)
		}
		fmt.Println("locked")
		select {} // until killed
	}
	r, url := newRepo(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledHoldersLockExpires$")
	cmd.Env = append(os.Environ(), lockChildEnv+"="+url)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "locked\n" {
		cmd.Process.Kill()
		t.Fatalf("child said %q", line)
	}
	cmd.Process.Kill()
	cmd.Wait()
	killed := time.Now()
	dead := lockObjects(t, r)
	if _, err := r.Lock(ctx, "next job", time.Minute); !errors.Is(err, repo.ErrLocked) {
		t.Fatalf("lock right after the holder died: %v, want ErrLocked until its lock expires", err)
	}
	time.Sleep(ttl - time.Since(killed) + 100*time.Millisecond)
	l, err := r.Lock(ctx, "next job", time.Minute)
	if err != nil {
		t.Fatalf("lock after the dead holder's expired: %v", err)
	}
	defer l.Release(ctx)
	for _, k := range lockObjects(t, r) {
		if slices.Contains(dead, k) {
			t.Fatalf("the expired lock object %s was not removed", k)
		}
	}
}

// TestLockLostWhenRefreshFails: a holder that can no longer refresh its
// lock (here the store refuses every request) must learn, before the lock
// can have expired for others, that it holds nothing: Lost closes and
// Check fails with ErrLockLost, so a prune stops changing the repository.
func TestLockLostWhenRefreshFails(t *testing.T) {
	ctx := context.Background()
	r, url := newRepo(t)
	h, err := repo.Open(ctx, openBackend(t, url, false), "secret", testOpts)
	if err != nil {
		t.Fatal(err)
	}
	const ttl = 600 * time.Millisecond
	l, err := h.Lock(ctx, "job", ttl)
	if err != nil {
		t.Fatal(err)
	}
	h.Backend().Close() // every later request fails
	select {
	case <-l.Lost():
	case <-time.After(2 * ttl):
		t.Fatal("Lost did not close although no refresh could succeed")
	}
	if err := l.Check(); !errors.Is(err, repo.ErrLockLost) {
		t.Fatalf("Check after the lock was lost: %v, want ErrLockLost", err)
	}
	if len(lockObjects(t, r)) != 1 {
		t.Fatal("want the stale lock object left for others to expire")
	}
}
