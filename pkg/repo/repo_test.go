package repo_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/repo/crypto"
)

var testOpts = repo.Options{KDF: crypto.TestKDF, PackSize: 1 << 20}

func openBackendNoTest(url string) (*backend.Backend, error) {
	return backend.Open(context.Background(), url, backend.Options{})
}

func openBackend(t *testing.T, url string, create bool) *backend.Backend {
	t.Helper()
	be, err := backend.Open(context.Background(), url, backend.Options{Create: create})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	return be
}

func newRepo(t *testing.T) (*repo.Repository, string) {
	t.Helper()
	url := "file://" + t.TempDir() + "/repo"
	r, err := repo.Init(context.Background(), openBackend(t, url, true), "secret", testOpts)
	if err != nil {
		t.Fatal(err)
	}
	return r, url
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestSaveLoadRoundTrip(t *testing.T) {
	ctx := context.Background()
	r, url := newRepo(t)
	var ids []repo.ID
	var blobs [][]byte
	for i := 0; i < 50; i++ {
		var data []byte
		if i%2 == 0 {
			data = randBytes(40 << 10)
		} else {
			data = bytes.Repeat([]byte(fmt.Sprintf("line %d\n", i)), 5000)
		}
		id := r.Hash(data)
		n, err := r.SaveBlob(ctx, repo.DataBlob, id, data)
		if err != nil || n == 0 {
			t.Fatalf("save %d: n=%d err=%v", i, n, err)
		}
		if i%2 == 1 && n > len(data)/10 {
			t.Errorf("compressible blob stored in %d of %d bytes", n, len(data))
		}
		ids, blobs = append(ids, id), append(blobs, data)
	}
	// pending blobs are visible and loadable before Flush
	if !r.Has(repo.DataBlob, ids[49]) {
		t.Fatal("pending blob not reported by Has")
	}
	if n, err := r.SaveBlob(ctx, repo.DataBlob, ids[3], blobs[3]); err != nil || n != 0 {
		t.Fatalf("duplicate save: n=%d err=%v, want 0, nil", n, err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r2, err := repo.Open(ctx, openBackend(t, url, false), "secret", testOpts)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		got, err := r2.LoadBlob(ctx, repo.DataBlob, id)
		if err != nil || !bytes.Equal(got, blobs[i]) {
			t.Fatalf("blob %d: err=%v equal=%v", i, err, bytes.Equal(got, blobs[i]))
		}
	}
	if _, err := repo.Open(ctx, openBackend(t, url, false), "wrong", testOpts); !errors.Is(err, repo.ErrWrongPassword) {
		t.Fatalf("wrong password: got %v", err)
	}
}

// A SaveBlob whose context is cancelled while it waits to hand a full pack
// to the uploaders drops that pack, which holds blobs earlier calls
// reported as saved: the handle must then refuse to Flush, so no snapshot
// can refer to them.
func TestCancelledSaveFailsTheHandle(t *testing.T) {
	ctx := context.Background()
	_, url := newRepo(t)
	be := openBackend(t, url, false)
	opts := testOpts
	opts.Uploads = 1
	r, err := repo.Open(ctx, be, "secret", opts)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	var saveErr error
	for i := 0; i < 100 && saveErr == nil; i++ { // 100 × 64 KiB fills several 1 MiB packs
		data := randBytes(64 << 10)
		_, saveErr = r.SaveBlob(cctx, repo.DataBlob, r.Hash(data), data)
	}
	if saveErr == nil {
		t.Skip("every pack handoff won the race against the cancelled context")
	}
	if err := r.Flush(ctx); err == nil {
		t.Fatal("Flush succeeded after a pack was dropped")
	}
}

// With in-memory packs (remote stores), many goroutines saving into tiny
// packs with one upload slot must neither deadlock nor lose blobs.
func TestMemoryPacksBoundedNoDeadlock(t *testing.T) {
	ctx := context.Background()
	be := openBackend(t, "mem://", false)
	opts := testOpts
	opts.PackSize, opts.Uploads, opts.NoStreaming = 64<<10, 1, true
	r, err := repo.Init(ctx, be, "pw", opts)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	ids := make(chan repo.ID, 400)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				data := randBytes(20 << 10)
				id := r.Hash(data)
				if _, err := r.SaveBlob(ctx, repo.DataBlob, id, data); err != nil {
					t.Error(err)
					return
				}
				ids <- id
			}
		}()
	}
	wg.Wait()
	close(ids)
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r2, err := repo.Open(ctx, be, "pw", opts)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for id := range ids {
		if _, err := r2.LoadBlob(ctx, repo.DataBlob, id); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 400 {
		t.Fatalf("%d blobs saved, want 400", n)
	}
}

// TestRemotePacksStayUnderTheSingleRequestSize: packs built in memory for
// a remote store are finished before a blob would push them past 15 MiB,
// so the S3 transfer manager sends each in one request instead of through
// its multipart buffer pool. All blobs stay loadable.
func TestRemotePacksStayUnderTheSingleRequestSize(t *testing.T) {
	ctx := context.Background()
	be := openBackend(t, "mem://", false)
	opts := testOpts
	opts.PackSize = 0 // the default target (16 MiB) is above the limit
	r, err := repo.Init(ctx, be, "secret", opts)
	if err != nil {
		t.Fatal(err)
	}
	var ids []repo.ID
	for i := 0; i < 24; i++ {
		data := randBytes(3<<20 + i*1000) // incompressible, ~3 MiB
		id := r.Hash(data)
		if _, err := r.SaveBlob(ctx, repo.DataBlob, id, data); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	packs := 0
	if err := be.List(ctx, "data/", func(o backend.Object) error {
		packs++
		if o.Size >= 16<<20 {
			t.Errorf("pack %s is %d bytes, at or over the 16 MiB single-request size", o.Key, o.Size)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if packs < 5 {
		t.Fatalf("%d packs for 72 MiB of blobs", packs)
	}
	for _, id := range ids {
		if _, err := r.LoadBlob(ctx, repo.DataBlob, id); err != nil {
			t.Fatal(err)
		}
	}
}

// TestInitMakesPackDirectories: on file:// init makes every pack
// directory (data/00 .. data/ff), so a first backup's packer never waits
// for a mkdir and a directory fsync; packs then land in them.
func TestInitMakesPackDirectories(t *testing.T) {
	ctx := context.Background()
	r, url := newRepo(t)
	dir := strings.TrimPrefix(url, "file://")
	entries, err := os.ReadDir(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 256 || entries[0].Name() != "00" || entries[255].Name() != "ff" {
		t.Fatalf("data/ holds %d entries after init, want 00..ff", len(entries))
	}
	data := randBytes(100 << 10)
	if _, err := r.SaveBlob(ctx, repo.DataBlob, r.Hash(data), data); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	packs, _ := filepath.Glob(filepath.Join(dir, "data", "*", "*"))
	if len(packs) != 1 {
		t.Fatalf("packs after a flush: %v", packs)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	// Object stores have no directories: init there is unchanged.
	if _, err := repo.Init(ctx, openBackend(t, "mem://", false), "secret", testOpts); err != nil {
		t.Fatalf("init on mem://: %v", err)
	}
}
