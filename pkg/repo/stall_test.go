package repo_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/repotest/stallblob"
)

// TestCancelEndsBackupOnStalledStore: the store stops answering while
// packs are uploading (issue 14 item 5). Cancelling the context must end
// SaveBlob, Flush and Close within seconds, and the repository must stay
// consistent: nothing of the abandoned packs is indexed.
func TestCancelEndsBackupOnStalledStore(t *testing.T) {
	_, url := newRepo(t)
	dir := strings.TrimPrefix(url, "file://")
	addr, hanging := stallblob.Hang(t)
	be := openBackend(t, stallblob.URL(dir, 1, addr), false)
	opts := testOpts
	opts.PackSize = 256 << 10
	r, err := repo.Open(context.Background(), be, "secret", opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		// Far more than the upload slots hold: SaveBlob ends up waiting on
		// uploads that never finish.
		for range 200 {
			data := randBytes(64 << 10)
			if _, err := r.SaveBlob(ctx, repo.DataBlob, r.Hash(data), data); err != nil {
				done <- err
				return
			}
		}
		done <- r.Flush(ctx)
	}()
	<-hanging // the first pack is stored, the next one hangs
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("backup on a stalled store ended with %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SaveBlob/Flush did not return within 10 s of the cancel: the stalled store holds the process")
	}
	closed := make(chan error, 1)
	go func() { closed <- r.Close() }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited on uploads to a store that stopped answering")
	}
	after, err := repo.Open(context.Background(), openBackend(t, url, false), "secret", testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if n := after.Index().Count(repo.DataBlob); n != 0 {
		t.Fatalf("%d blobs indexed after the abandoned backup", n)
	}
}
