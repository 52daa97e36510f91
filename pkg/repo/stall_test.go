package repo_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/repotest"
	"github.com/cairnbackup/cairn/pkg/repo/repotest/stallproxy"
)

// TestCancelEndsBackupOnStalledStore: MinIO stops answering while packs
// are uploading (issue 14 item 5). Cancelling the context must end
// SaveBlob, Flush and Close within seconds, and the repository must stay
// consistent: nothing of the abandoned packs is indexed.
func TestCancelEndsBackupOnStalledStore(t *testing.T) {
	ctx := context.Background()
	srv := repotest.MinIO(t)
	direct := repotest.S3URL(strings.TrimPrefix(srv.Endpoint, "http://"), srv.Region)
	if _, err := repo.Init(ctx, openBackend(t, direct, false), "secret", testOpts); err != nil {
		t.Fatal(err)
	}
	// The first data pack goes through; the second hangs.
	proxy := stallproxy.Start(t, strings.TrimPrefix(srv.Endpoint, "http://"), "PUT /cairn/repo/data/", 1)
	opts := testOpts
	opts.PackSize = 256 << 10
	r, err := repo.Open(ctx, openBackend(t, repotest.S3URL(proxy.Addr, srv.Region), false), "secret", opts)
	if err != nil {
		t.Fatal(err)
	}
	bctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		// Far more than the upload slots hold: SaveBlob ends up waiting on
		// uploads that never finish.
		for range 200 {
			data := randBytes(64 << 10)
			if _, err := r.SaveBlob(bctx, repo.DataBlob, r.Hash(data), data); err != nil {
				done <- err
				return
			}
		}
		done <- r.Flush(bctx)
	}()
	<-proxy.Stalled
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
	after, err := repo.Open(ctx, openBackend(t, direct, false), "secret", testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if n := after.Index().Count(repo.DataBlob); n != 0 {
		t.Fatalf("%d blobs indexed after the abandoned backup", n)
	}
}
