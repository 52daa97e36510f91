package repo

import (
	"context"
	"errors"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/repo/crypto"
)

var raceOpts = Options{KDF: crypto.TestKDF, PackSize: 1 << 20}

// newBackend opens a new file:// repository directory for one test.
func newBackend(t *testing.T) *backend.Backend {
	t.Helper()
	be, err := backend.Open(context.Background(), "file://"+t.TempDir()+"/repo", backend.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	return be
}

func listKeys(t *testing.T, be *backend.Backend) []string {
	t.Helper()
	var keys []string
	if err := be.List(context.Background(), keysPrefix, func(o backend.Object) error { keys = append(keys, o.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestInitLoserRemovesItsKey: two inits that race both find no config and
// both write a key file; the one whose conditional config create loses
// must remove its key, or the repository holds a key that opens with the
// same password but belongs to a master key that encrypts nothing.
func TestInitLoserRemovesItsKey(t *testing.T) {
	ctx := context.Background()
	be := newBackend(t)
	winner, err := Init(ctx, be, "secret", raceOpts)
	if err != nil {
		t.Fatal(err)
	}
	// The loser got past Init's check for a config before the winner
	// wrote it: it goes on with its own master key and config.
	master, err := crypto.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	loser := newRepository(be, master, Config{Version: FormatVersion}, raceOpts.withDefaults())
	if err := loser.create(ctx, "secret"); !errors.Is(err, ErrAlreadyInitialized) {
		t.Fatalf("losing init: %v, want ErrAlreadyInitialized", err)
	}
	if keys := listKeys(t, be); len(keys) != 1 || keys[0] != keysPrefix+winner.KeyID().String() {
		t.Fatalf("keys after the race = %v, want only the winner's %s", keys, winner.KeyID())
	}
}

// TestInitWhoseConfigWriteWasRetried: the conditional create of the config
// succeeded but its answer was lost, so the retry found the object
// (ErrExists). That config is this init's own: init must succeed and keep
// its key, not take itself for the loser of a race and leave a repository
// no key opens.
func TestInitWhoseConfigWriteWasRetried(t *testing.T) {
	ctx := context.Background()
	be := newBackend(t)
	master, err := crypto.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	r := newRepository(be, master, Config{Version: FormatVersion, ID: [16]byte{7}, ChunkerSeed: [32]byte{1}, ChunkIDKey: [32]byte{2}}, raceOpts.withDefaults())
	if err := r.saveConfig(ctx); err != nil { // the first attempt, answered too late
		t.Fatal(err)
	}
	if err := r.create(ctx, "secret"); err != nil {
		t.Fatalf("init whose config write was retried: %v", err)
	}
	o, err := Open(ctx, be, "secret", raceOpts)
	if err != nil {
		t.Fatalf("the repository does not open: %v", err)
	}
	if o.Config().ID != r.Config().ID {
		t.Fatal("opened another repository")
	}
}

// TestUnlockSkipsKeyOfAnotherMasterKey: a key file that opens with the
// password but wraps a master key the config was not sealed with (an init
// loser killed before it removed its key) must not stop Open: unlock
// tries the next key. Such keys are written until one sorts before the
// real one in the listing; the real key is made to sort in the upper half
// (a new repository until it does), so each stray comes first with odds of
// at least one half.
func TestUnlockSkipsKeyOfAnotherMasterKey(t *testing.T) {
	ctx := context.Background()
	var be *backend.Backend
	var r *Repository
	for r == nil || r.KeyID()[0] < 0x80 {
		be = newBackend(t)
		var err error
		if r, err = Init(ctx, be, "secret", raceOpts); err != nil {
			t.Fatal(err)
		}
	}
	for len(listKeys(t, be)) < 64 && listKeys(t, be)[0] == keysPrefix+r.KeyID().String() {
		master, err := crypto.NewRandomKey()
		if err != nil {
			t.Fatal(err)
		}
		stray := newRepository(be, master, Config{}, raceOpts.withDefaults())
		if _, err := stray.writeKeyFile(ctx, master, "secret"); err != nil {
			t.Fatal(err)
		}
	}
	if keys := listKeys(t, be); keys[0] == keysPrefix+r.KeyID().String() {
		t.Fatalf("the real key still sorts first among %d; the test would prove nothing", len(keys))
	}
	for i := range 3 {
		o, err := Open(ctx, be, "secret", raceOpts)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if o.KeyID() != r.KeyID() || o.Config().ID != r.Config().ID {
			t.Fatalf("opened with key %s, want %s", o.KeyID(), r.KeyID())
		}
	}
	if _, err := Open(ctx, be, "wrong", raceOpts); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong password: %v", err)
	}
}

// TestConcurrentInit: replicas of a StatefulSet start their first backups
// at once, each running init. Exactly one may create the repository; the
// others report ErrAlreadyInitialized, leave no key behind, and every
// later open (with any handle) works.
func TestConcurrentInit(t *testing.T) {
	ctx := context.Background()
	url := "file://" + t.TempDir() + "/repo"
	const n = 8
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		// One bucket per init, like separate processes: nothing in this
		// process serialises their writes.
		be, err := backend.Open(ctx, url, backend.Options{Create: true})
		if err != nil {
			t.Fatal(err)
		}
		defer be.Close()
		go func() {
			<-start
			_, err := Init(ctx, be, "secret", raceOpts)
			errs <- err
		}()
	}
	close(start)
	won := 0
	for range n {
		err := <-errs
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrAlreadyInitialized):
			t.Errorf("init: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d inits succeeded, want exactly 1", won)
	}
	be, err := backend.Open(ctx, url, backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	if keys := listKeys(t, be); len(keys) != 1 {
		t.Fatalf("%d key files after the race, want 1: %v", len(keys), keys)
	}
	if _, err := Open(ctx, be, "secret", raceOpts); err != nil {
		t.Fatal(err)
	}
}
