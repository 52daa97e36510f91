package keycache

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo/crypto"
	"github.com/cairnbackup/cairn/pkg/repo/ident"
)

func testKey(t *testing.T) *crypto.Key {
	t.Helper()
	k, err := crypto.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestStoreLoadRoundTrip(t *testing.T) {
	d := New(filepath.Join(t.TempDir(), "keys"))
	id := ident.ID{1, 2, 3}
	master := testKey(t)
	if _, ok := d.Load(id, "pw"); ok {
		t.Fatal("hit on an empty cache")
	}
	if err := d.Store(id, "pw", master); err != nil {
		t.Fatal(err)
	}
	got, ok := d.Load(id, "pw")
	if !ok || !bytes.Equal(got.Bytes(), master.Bytes()) {
		t.Fatalf("Load = %v, %v; want the stored key", got, ok)
	}
	info, err := os.Stat(d.Path())
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("cache dir mode = %v, %v; want 0700", info.Mode().Perm(), err)
	}
	info, err = os.Stat(d.file(id))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("entry mode = %v, %v; want 0600", info.Mode().Perm(), err)
	}
	raw, _ := os.ReadFile(d.file(id))
	if bytes.Contains(raw, master.Bytes()) {
		t.Error("the entry holds the master key in the clear")
	}
}

func TestLoadMissesForAnotherPasswordOrKeyFile(t *testing.T) {
	d := New(t.TempDir())
	id := ident.ID{9}
	if err := d.Store(id, "right", testKey(t)); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Load(id, "wrong"); ok {
		t.Error("another password opened the entry")
	}
	// The entry copied under another key file's name must not open either.
	other := ident.ID{8}
	raw, _ := os.ReadFile(d.file(id))
	if err := os.WriteFile(d.file(other), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Load(other, "right"); ok {
		t.Error("an entry renamed to another key file opened")
	}
	if err := d.Forget(id); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Load(id, "right"); ok {
		t.Error("a forgotten entry still opens")
	}
	if err := d.Forget(id); err != nil {
		t.Errorf("forgetting twice: %v", err)
	}
}

func TestOpenRejectsDamage(t *testing.T) {
	id := ident.ID{7}
	entry, err := Seal(id, "pw", testKey(t))
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"empty":     nil,
		"truncated": entry[:len(entry)-1],
		"version":   append([]byte{2}, entry[1:]...),
		"flipped":   append(append([]byte{}, entry[:len(entry)-1]...), entry[len(entry)-1]^1),
	} {
		if _, err := Open(bad, id, "pw"); err == nil {
			t.Errorf("%s entry opened", name)
		}
	}
}

func FuzzOpen(f *testing.F) {
	id := ident.ID{5}
	k, err := crypto.NewRandomKey()
	if err != nil {
		f.Fatal(err)
	}
	entry, err := Seal(id, "pw", k)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(entry)
	f.Add([]byte{entryVersion})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Open(data, id, "pw")
		if err == nil && (len(data) != entrySize || got == nil) {
			t.Fatalf("opened a %d-byte entry", len(data))
		}
	})
}
