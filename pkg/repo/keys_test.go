package repo_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/repo/crypto"
	"github.com/cairnbackup/cairn/pkg/repo/repotest"
)

func TestKeysAddListRemovePasswd(t *testing.T) {
	ctx := context.Background()
	r, url := repotest.Init(t)
	sn, err := repotest.Backup(ctx, r, map[string][]byte{"a/b.txt": []byte("hello")})
	if err != nil {
		t.Fatal(err)
	}
	second, err := r.AddKey(ctx, "second password")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := r.ListKeys(ctx)
	if err != nil || len(keys) != 2 {
		t.Fatalf("ListKeys = %v, %v; want 2 keys", keys, err)
	}
	if err := r.RemoveKey(ctx, r.KeyID()); err == nil {
		t.Fatal("removing the key in use must be refused")
	}
	// The second password opens the same data.
	be, err := backend.Open(ctx, url, backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := repo.Open(ctx, be, "second password", repotest.Options)
	if err != nil {
		t.Fatal(err)
	}
	if r2.KeyID() != second {
		t.Fatalf("opened with key %s, want %s", r2.KeyID().Short(), second.Short())
	}
	files, err := repotest.ReadTree(ctx, r2, sn.Tree)
	if err != nil || string(files["a/b.txt"]) != "hello" {
		t.Fatalf("read via second key: %q, %v", files["a/b.txt"], err)
	}
	// Rotate the second password; the old second password stops working.
	if _, err := r2.ChangePassword(ctx, "third password"); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Open(ctx, be, "second password", repotest.Options); !errors.Is(err, repo.ErrWrongPassword) {
		t.Fatalf("old password after rotation: %v, want ErrWrongPassword", err)
	}
	if _, err := repo.Open(ctx, be, "third password", repotest.Options); err != nil {
		t.Fatalf("new password: %v", err)
	}
	// Remove the original key through the rotated handle.
	if err := r2.RemoveKey(ctx, r.KeyID()); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Open(ctx, be, repotest.Password, repotest.Options); !errors.Is(err, repo.ErrWrongPassword) {
		t.Fatalf("removed key still opens: %v", err)
	}
}

func TestInitOpenErrors(t *testing.T) {
	ctx := context.Background()
	_, url := repotest.Init(t)
	be, err := backend.Open(ctx, url, backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Init(ctx, be, "x", repotest.Options); !errors.Is(err, repo.ErrAlreadyInitialized) {
		t.Fatalf("second init: %v, want ErrAlreadyInitialized", err)
	}
	empty, err := backend.Open(ctx, "file://"+t.TempDir(), backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Open(ctx, empty, "x", repotest.Options); !errors.Is(err, repo.ErrNoRepository) {
		t.Fatalf("open empty dir: %v, want ErrNoRepository", err)
	}
	if _, err := backend.Open(ctx, "file://"+t.TempDir()+"/missing", backend.Options{}); !errors.Is(err, backend.ErrNoBucket) {
		t.Fatalf("open missing dir: %v, want ErrNoBucket", err)
	}
	if _, err := repo.Init(ctx, empty, "", repotest.Options); err == nil {
		t.Fatal("empty password accepted")
	}
}

func TestMemBackendRoundTrip(t *testing.T) {
	ctx := context.Background()
	be, err := backend.Open(ctx, "mem://", backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"x/y/z": randBytes(200 << 10), "x/w": []byte("small")}
	r2, sn := repotest.RoundTrip(t, be, files)
	snaps, _, err := r2.ListSnapshots(ctx)
	if err != nil || len(snaps) != 1 || snaps[0].ID != sn.ID {
		t.Fatalf("ListSnapshots = %v, %v", snaps, err)
	}
	if id, err := r2.FindSnapshot(ctx, sn.ID.String()[:6]); err != nil || id != sn.ID {
		t.Fatalf("FindSnapshot prefix: %v %v", id, err)
	}
}

// TestScryptRepositoryStillOpens: repositories made before argon2id became
// the default have scrypt key files; they must open, and a key added to
// them later uses the handle's KDF (argon2id) while the old key keeps working.
func TestScryptRepositoryStillOpens(t *testing.T) {
	ctx := context.Background()
	url := "file://" + t.TempDir() + "/repo"
	old := repo.Options{KDF: crypto.KDFParams{Algorithm: crypto.Scrypt, N: 1 << 10, R: 8, P: 1}, PackSize: 1 << 20}
	r, err := repo.Init(ctx, openBackend(t, url, true), "old-pw", old)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("kept across the KDF change")
	id := r.Hash(data)
	if _, err := r.SaveBlob(ctx, repo.DataBlob, id, data); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r.Close()

	r2, err := repo.Open(ctx, openBackend(t, url, false), "old-pw", testOpts)
	if err != nil {
		t.Fatalf("scrypt repository does not open: %v", err)
	}
	defer r2.Close()
	if got, err := r2.LoadBlob(ctx, repo.DataBlob, id); err != nil || string(got) != "kept across the KDF change" {
		t.Fatalf("load: %q %v", got, err)
	}
	if _, err := r2.AddKey(ctx, "new-pw"); err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"old-pw", "new-pw"} {
		r3, err := repo.Open(ctx, openBackend(t, url, false), pw, testOpts)
		if err != nil {
			t.Fatalf("open with %s: %v", pw, err)
		}
		r3.Close()
	}
}

// TestKeyAddAndPasswdWriteTheDefaultKDF: a repository whose key files have
// old, weak parameters gets new key files with DefaultKDF from key add and
// key passwd (a handle opened without an explicit KDF).
func TestKeyAddAndPasswdWriteTheDefaultKDF(t *testing.T) {
	ctx := context.Background()
	url := "file://" + t.TempDir() + "/repo"
	old, err := repo.Init(ctx, openBackend(t, url, true), "old-pw", testOpts)
	if err != nil {
		t.Fatal(err)
	}
	old.Close()
	r, err := repo.Open(ctx, openBackend(t, url, false), "old-pw", repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	paramsOf := func(id repo.ID) crypto.KDFParams {
		t.Helper()
		data, err := r.Backend().Get(ctx, "keys/"+id.String())
		if err != nil {
			t.Fatal(err)
		}
		kf, err := crypto.ParseKeyFile(data)
		if err != nil {
			t.Fatal(err)
		}
		return kf.Params
	}
	if p := paramsOf(r.KeyID()); p != testOpts.KDF {
		t.Fatalf("old key's params %+v", p)
	}
	// One derivation at the real cost (about a second of CPU): key passwd
	// writes its new key through AddKey, which key add is.
	changed, err := r.ChangePassword(ctx, "changed-pw")
	if err != nil {
		t.Fatal(err)
	}
	if p := paramsOf(changed); p != crypto.DefaultKDF {
		t.Fatalf("key passwd wrote %+v, want %+v", p, crypto.DefaultKDF)
	}
}
