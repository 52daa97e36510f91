package repo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// clockPrefix holds the short-lived objects StoreTime writes.
const clockPrefix = "clock/"

// ErrNoStoreTime means the store does not report when objects were
// written, so there is no store clock to read.
var ErrNoStoreTime = errors.New("the store reports no modification times")

// StoreTime returns the store's current time: it writes a small object and
// reads back the time the store recorded for it. Prune measures every age
// with it (plans' creation, unindexed packs' and temporary files' write
// times, which the store stamps anyway), so the grace period holds however
// wrong the pruning machine's clock is, and whichever machine made a plan.
func (r *Repository) StoreTime(ctx context.Context) (time.Time, error) {
	var rnd [16]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return time.Time{}, err
	}
	key := clockPrefix + hex.EncodeToString(rnd[:])
	if err := r.be.Put(ctx, key, nil); err != nil {
		return time.Time{}, fmt.Errorf("read the store's clock: %w", err)
	}
	o, err := r.be.Stat(ctx, key)
	if derr := r.be.Delete(ctx, key); err == nil {
		err = derr
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read the store's clock: %w", err)
	}
	if o.ModTime.IsZero() {
		return time.Time{}, fmt.Errorf("read the store's clock: %w", ErrNoStoreTime)
	}
	return o.ModTime, nil
}
