package repo

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/repo/crypto"
	"github.com/cairnbackup/cairn/pkg/repo/ident"
	"github.com/zeebo/blake3"
)

const keysPrefix = "keys/"

// KeyInfo describes one key file for `key list`.
type KeyInfo struct {
	ID       ID        `json:"id"`
	Current  bool      `json:"current"`
	Created  time.Time `json:"created"`
	Hostname string    `json:"hostname,omitempty"`
	Username string    `json:"username,omitempty"`
}

func (r *Repository) writeKeyFile(ctx context.Context, master *crypto.Key, password string) (ID, error) {
	kf, err := crypto.NewKeyFile(master, password, r.opts.KDF, r.opts.Hostname, r.opts.Username)
	if err != nil {
		return ID{}, err
	}
	data, err := kf.Marshal()
	if err != nil {
		return ID{}, err
	}
	id := ID(blake3.Sum256(data))
	// The name is the content's hash: an existing object is this very key
	// file (an earlier attempt of the same write succeeded).
	if err := r.be.Put(ctx, keysPrefix+id.String(), data); err != nil && !errors.Is(err, backend.ErrExists) {
		return ID{}, err
	}
	return id, nil
}

// unlock tries every key file with password and returns the first master
// key that also opens the repository's config. A key file whose password
// matches but whose master key does not decrypt the config (left by the
// loser of two concurrent inits that crashed before removing it) is
// skipped. With a cache, a listed key file this machine has unlocked before
// skips the password hash; its key must still decrypt the config.
func unlock(ctx context.Context, be *backend.Backend, password string, cache KeyCache) (*crypto.Key, ID, Config, error) {
	var keys []string
	if err := be.List(ctx, keysPrefix, func(o backend.Object) error { keys = append(keys, o.Key); return nil }); err != nil {
		return nil, ID{}, Config{}, err
	}
	if len(keys) == 0 {
		return nil, ID{}, Config{}, ErrNoKeys
	}
	var lastErr, configErr error
	for _, k := range keys {
		id, err := ident.Parse(path.Base(k))
		if err != nil {
			continue // not a key file's name; not ours
		}
		if cache != nil {
			if master, ok := cache.Load(id, password); ok {
				if cfg, err := loadConfig(ctx, be, master); err == nil {
					return master, id, cfg, nil
				}
				// A stale entry: unlock the key file the slow way below.
			}
		}
		data, err := be.Get(ctx, k)
		if err != nil {
			lastErr = err
			continue
		}
		kf, err := crypto.ParseKeyFile(data)
		if err != nil {
			lastErr = fmt.Errorf("key file %s: %w", k, err)
			continue
		}
		master, err := kf.Unwrap(password)
		if err != nil {
			continue
		}
		cfg, err := loadConfig(ctx, be, master)
		if errors.Is(err, ErrCorrupt) && errors.Is(err, crypto.ErrAuth) {
			configErr = fmt.Errorf("key file %s opens with the password but its key does not decrypt the config", k)
			continue
		}
		if err != nil {
			return nil, ID{}, Config{}, err
		}
		if cache != nil {
			_ = cache.Store(id, password, master) // a cache that cannot store is only slower
		}
		return master, id, cfg, nil
	}
	switch {
	case configErr != nil:
		// Every key the password opens belongs to another master key: the
		// config itself may be damaged.
		return nil, ID{}, Config{}, fmt.Errorf("config: %w: %w", ErrCorrupt, configErr)
	case lastErr != nil:
		return nil, ID{}, Config{}, fmt.Errorf("%w (and a key file could not be read: %w)", ErrWrongPassword, lastErr)
	}
	return nil, ID{}, Config{}, ErrWrongPassword
}

// AddKey adds a key file for another password; nothing else is rewritten.
func (r *Repository) AddKey(ctx context.Context, password string) (ID, error) {
	id, err := r.writeKeyFile(ctx, r.key, password)
	if err != nil {
		return ID{}, fmt.Errorf("add key: %w", err)
	}
	return id, nil
}

// ListKeys lists key files, marking the one this handle was opened with.
func (r *Repository) ListKeys(ctx context.Context) ([]KeyInfo, error) {
	var out []KeyInfo
	err := r.be.List(ctx, keysPrefix, func(o backend.Object) error {
		id, err := ident.Parse(path.Base(o.Key))
		if err != nil {
			return nil // not ours; ignore
		}
		data, err := r.be.Get(ctx, o.Key)
		if err != nil {
			return err
		}
		kf, err := crypto.ParseKeyFile(data)
		if err != nil {
			return fmt.Errorf("key file %s: %w", o.Key, err)
		}
		out = append(out, KeyInfo{ID: id, Current: id == r.keyID, Created: kf.Created, Hostname: kf.Hostname, Username: kf.Username})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, err
}

// RemoveKey deletes a key file. It refuses to remove the key this handle was
// opened with (so the caller cannot lock itself out by mistake) and the last key.
func (r *Repository) RemoveKey(ctx context.Context, id ID) error {
	if id == r.keyID {
		return fmt.Errorf("remove key %s: %w", id.Short(), ErrKeyInUse)
	}
	keys, err := r.ListKeys(ctx)
	if err != nil {
		return err
	}
	found := false
	for _, k := range keys {
		found = found || k.ID == id
	}
	if !found {
		return fmt.Errorf("remove key: %w %s", ErrNoKey, id.Short())
	}
	return r.be.Delete(ctx, keysPrefix+id.String())
}

// ChangePassword replaces the current key file with one for newPassword.
// The new key is written before the old one is removed, so a crash leaves
// both passwords working, never neither.
func (r *Repository) ChangePassword(ctx context.Context, newPassword string) (ID, error) {
	id, err := r.AddKey(ctx, newPassword)
	if err != nil {
		return ID{}, err
	}
	if err := r.be.Delete(ctx, keysPrefix+r.keyID.String()); err != nil {
		return id, fmt.Errorf("new key %s added but the old key could not be removed: %w", id.Short(), err)
	}
	r.keyID = id
	return id, nil
}
