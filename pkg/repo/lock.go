package repo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

// LocksPrefix holds the lock objects of maintenance runs (prune). Backups
// never take or look at locks.
const LocksPrefix = "locks/"

// DefaultLockTTL is how long a lock lives without being refreshed; its
// holder refreshes it every third of that.
const DefaultLockTTL = 10 * time.Minute

// MaxLockTTL bounds a lock's TTL. A lock object that cannot be read
// (damaged, or sealed under another key) counts as held for this long: its
// own TTL is unknown, so the longest any holder could have asked for.
const MaxLockTTL = time.Hour

// ErrLocked means another run holds the repository's maintenance lock; the
// error is a *LockedError naming the holder.
var ErrLocked = errors.New("the repository is locked by another maintenance run")

// ErrLockLost means this run's lock could not be refreshed in time: another
// run may hold the repository now, so the run must stop changing it.
var ErrLockLost = errors.New("the maintenance lock was lost")

// LockedError names who holds the lock and until when (by the store's
// clock, if it is not refreshed).
type LockedError struct {
	Owner, Hostname string
	PID             int
	Expires         time.Time
}

// Error says who holds the lock.
func (e *LockedError) Error() string {
	return fmt.Sprintf("%v: held by %s (host %s, pid %d) until %s unless refreshed",
		ErrLocked, e.Owner, e.Hostname, e.PID, e.Expires.UTC().Format(time.RFC3339))
}

// Unwrap makes errors.Is(err, ErrLocked) hold.
func (e *LockedError) Unwrap() error { return ErrLocked }

// lockInfo is a lock object's sealed content.
type lockInfo struct {
	Owner    string `json:"owner"`
	Hostname string `json:"hostname"`
	PID      int    `json:"pid"`
	TTL      int64  `json:"ttl_ms"`
}

// Lock is a held maintenance lock. It works across processes, machines and
// clusters that share the bucket, because it lives in the bucket: taking it
// writes a lock object and then lists the others, and gives up if any other
// is live, so of two runs that start together at least one gives up (both,
// at worst; they may retry). A lock object is live until the store's time
// passes the time the store stamped on it plus its TTL, so no machine's
// clock matters. The holder refreshes it in the background (a new object,
// then the old one removed); if that fails for longer than the TTL allows,
// Lost is closed and Check fails.
type Lock struct {
	r    *Repository
	info lockInfo
	ttl  time.Duration

	mu        sync.Mutex
	key       string
	refreshed time.Time // local monotonic time of the last successful write
	lost      chan struct{}
	lostOnce  sync.Once
	stop      chan struct{}
	done      chan struct{}
}

// Lock takes the repository's maintenance lock for owner (a name a person
// can trace: a host, a Job, a cluster), or fails with a *LockedError. ttl
// <= 0 means DefaultLockTTL. Release it when done.
func (r *Repository) Lock(ctx context.Context, owner string, ttl time.Duration) (*Lock, error) {
	if ttl <= 0 {
		ttl = DefaultLockTTL
	}
	if ttl > MaxLockTTL {
		return nil, fmt.Errorf("%w: lock TTL %s is longer than %s", ErrInvalidOptions, ttl, MaxLockTTL)
	}
	host, _ := os.Hostname()
	l := &Lock{r: r, info: lockInfo{Owner: owner, Hostname: host, PID: os.Getpid(), TTL: ttl.Milliseconds()}, ttl: ttl,
		lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	key, err := l.write(ctx)
	if err != nil {
		return nil, err
	}
	l.key, l.refreshed = key, time.Now()
	if err := l.checkOthers(ctx); err != nil {
		_ = r.be.Delete(context.WithoutCancel(ctx), key)
		return nil, err
	}
	go l.refreshLoop()
	return l, nil
}

// write stores a new lock object and returns its key.
func (l *Lock) write(ctx context.Context) (string, error) {
	plain, err := json.Marshal(l.info)
	if err != nil {
		return "", err
	}
	var rnd [16]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", err
	}
	key := LocksPrefix + hex.EncodeToString(rnd[:])
	if err := l.r.be.Put(ctx, key, l.r.key.Seal(nil, plain)); err != nil {
		return "", fmt.Errorf("write lock: %w", err)
	}
	return key, nil
}

// checkOthers fails with a *LockedError if a lock object other than ours
// is live, and removes the expired ones it finds.
func (l *Lock) checkOthers(ctx context.Context) error {
	var objs []backend.Object
	if err := l.r.be.List(ctx, LocksPrefix, func(o backend.Object) error { objs = append(objs, o); return nil }); err != nil {
		return fmt.Errorf("list locks: %w", err)
	}
	// The store's time at our own write is a lower bound of its time now:
	// judging expiry by it can only keep a lock live longer.
	var now time.Time
	for _, o := range objs {
		if o.Key == l.key {
			now = o.ModTime
		}
	}
	if now.IsZero() {
		var err error
		if now, err = l.r.StoreTime(ctx); err != nil {
			return err
		}
	}
	for _, o := range objs {
		if o.Key == l.key {
			continue
		}
		info, ttl := l.r.readLock(ctx, o.Key)
		if info == nil && ttl == 0 {
			continue // removed since the listing
		}
		expires := o.ModTime.Add(ttl)
		if o.ModTime.IsZero() || now.Before(expires) {
			e := &LockedError{Expires: expires, Owner: "an unreadable lock object " + o.Key}
			if info != nil {
				e.Owner, e.Hostname, e.PID = info.Owner, info.Hostname, info.PID
			}
			return e
		}
		// Expired: its holder died or lost it long ago.
		if err := l.r.be.Delete(ctx, o.Key); err != nil {
			return err
		}
	}
	return nil
}

// readLock returns a lock object's content and TTL (at most MaxLockTTL);
// an object that cannot be read counts as live for MaxLockTTL, one that
// vanished as (nil, 0).
func (r *Repository) readLock(ctx context.Context, key string) (*lockInfo, time.Duration) {
	sealed, err := r.be.Get(ctx, key)
	if errors.Is(err, backend.ErrNotFound) {
		return nil, 0
	}
	var info lockInfo
	if err == nil {
		var plain []byte
		if plain, err = r.key.Open(nil, sealed); err == nil {
			err = json.Unmarshal(plain, &info)
		}
	}
	if err != nil || info.TTL <= 0 {
		return nil, MaxLockTTL
	}
	return &info, min(time.Duration(info.TTL)*time.Millisecond, MaxLockTTL)
}

// refreshLoop rewrites the lock every third of its TTL until Release.
func (l *Lock) refreshLoop() {
	defer close(l.done)
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		if err := l.refresh(); err != nil && l.Check() != nil {
			l.lostOnce.Do(func() { close(l.lost) })
			return
		}
	}
}

// refresh writes a new lock object and removes the previous one. The write
// must land within a third of the TTL; the removal of the old object gets
// the whole TTL, so a slow store does not leave it behind (it would read
// as a second lock of this holder until it expired).
func (l *Lock) refresh() error {
	ctx, cancel := context.WithTimeout(context.Background(), l.ttl/3)
	defer cancel()
	key, err := l.write(ctx)
	if err != nil {
		return err
	}
	l.mu.Lock()
	old := l.key
	l.key, l.refreshed = key, time.Now()
	l.mu.Unlock()
	dctx, dcancel := context.WithTimeout(context.Background(), l.ttl)
	defer dcancel()
	return l.r.be.Delete(dctx, old)
}

// Check fails with ErrLockLost once the last successful refresh is so old
// that the lock may have expired: call it before each destructive step.
// A quarter of the TTL is kept as a margin for the time the step takes.
func (l *Lock) Check() error {
	l.mu.Lock()
	age := time.Since(l.refreshed)
	l.mu.Unlock()
	if age > l.ttl-l.ttl/4 {
		return fmt.Errorf("%w: not refreshed for %s (TTL %s)", ErrLockLost, age.Round(time.Millisecond), l.ttl)
	}
	return nil
}

// Lost is closed when refreshing failed for too long; the holder should
// cancel its work.
func (l *Lock) Lost() <-chan struct{} { return l.lost }

// Release stops refreshing and removes the lock object.
func (l *Lock) Release(ctx context.Context) error {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	key := l.key
	l.mu.Unlock()
	return l.r.be.Delete(ctx, key)
}
