package maint_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/repo/maint"
	"github.com/cairnbackup/cairn/pkg/repo/repotest"
	"github.com/cairnbackup/cairn/pkg/repo/repotest/skewproxy"
)

// TestPruneJudgesAgesByTheStoresClock: issue 14 item 7. The machine that
// prunes is three hours ahead of the store, or three hours behind it
// (skewproxy shifts every time MinIO reports). Prune must measure the age
// of its plan and of an unindexed pack (a backup still uploading) against
// the store's clock only: neither may look three hours old while it is
// seconds old (which would delete a running backup's data, or the packs of
// a plan before its grace), nor three hours young once its grace passed.
func TestPruneJudgesAgesByTheStoresClock(t *testing.T) {
	srv := repotest.MinIO(t)
	minio := strings.TrimPrefix(srv.Endpoint, "http://")
	for _, skew := range []time.Duration{-3 * time.Hour, 3 * time.Hour} {
		t.Run("store "+skew.String(), func(t *testing.T) {
			ctx := context.Background()
			prefix := "skew" + strings.NewReplacer("-", "m", "h0m0s", "h").Replace(skew.String())
			url := strings.Replace(repotest.S3URL(skewproxy.Start(t, minio, skew), srv.Region), "cairn/repo", "cairn/"+prefix, 1)
			be, err := backend.Open(ctx, url, backend.Options{})
			if err != nil {
				t.Fatal(err)
			}
			r, err := repo.Init(ctx, be, repotest.Password, repotest.Options)
			if err != nil {
				t.Fatal(err)
			}
			gone := map[string][]byte{"gone": randBytes(2 << 20)}
			kept := map[string][]byte{"kept": randBytes(1 << 20)}
			a, err := repotest.Backup(ctx, r, gone)
			if err != nil {
				t.Fatal(err)
			}
			b, err := repotest.Backup(ctx, r, kept)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.DeleteSnapshot(ctx, a.ID); err != nil {
				t.Fatal(err)
			}
			// A backup that is still running: two 1 MiB packs uploaded and
			// not indexed yet (its index comes with its Flush, at the end).
			packs := func() int {
				n := 0
				if err := be.List(ctx, "data/", func(backend.Object) error { n++; return nil }); err != nil {
					t.Fatal(err)
				}
				return n
			}
			before := packs()
			running := repotest.Open(t, url)
			blobs := make(map[repo.ID][]byte)
			for range 40 {
				data := randBytes(64 << 10)
				id := running.Hash(data)
				blobs[id] = data
				if _, err := running.SaveBlob(ctx, repo.DataBlob, id, data); err != nil {
					t.Fatal(err)
				}
			}
			for deadline := time.Now().Add(20 * time.Second); packs() < before+2; time.Sleep(50 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the running backup's packs never reached the store")
				}
			}

			const grace = 8 * time.Second
			opts := maint.PruneOptions{Grace: grace, AllowShortGrace: true} // Now unset: the store's clock
			res, err := maint.Prune(ctx, repotest.Open(t, url), opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.PacksCondemned == 0 || res.PacksDeleted != 0 {
				t.Fatalf("first prune: %+v; want a plan and nothing deleted", res)
			}
			if res, err = maint.Prune(ctx, repotest.Open(t, url), opts); err != nil || res.PlansWaiting != 1 || res.PacksDeleted != 0 {
				t.Fatalf("prune within the grace: %+v, %v; want the plan waiting and nothing deleted", res, err)
			}
			// The running backup finishes within the grace: none of its
			// packs was taken (condemned ones would make Flush refuse).
			if err := running.Flush(ctx); err != nil {
				t.Fatalf("the running backup cannot finish after two prunes: %v", err)
			}
			time.Sleep(grace + time.Second)
			if res, err = maint.Prune(ctx, repotest.Open(t, url), opts); err != nil || res.PlansExecuted != 1 || res.PacksDeleted == 0 {
				t.Fatalf("prune after the grace: %+v, %v; want the plan carried out", res, err)
			}
			after := repotest.Open(t, url)
			for id, want := range blobs {
				got, err := after.LoadBlob(ctx, repo.DataBlob, id)
				if err != nil || string(got) != string(want) {
					t.Fatalf("blob %s of the running backup: %v", id.Short(), err)
				}
			}
			mustRead(t, after, b, kept)
			mustCheckClean(t, after)
		})
	}
}
