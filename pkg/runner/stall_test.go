package runner

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/repo/repotest/stallproxy"
)

// TestBackupToAStalledStoreFails: the store stops answering in the middle
// of the upload (every request held, every connection open: a stopped or
// partitioned MinIO). No client timeout ends a request body blocked on a
// full socket, so before the stall watch this backup, and its session,
// ran forever; now it fails once nothing moved for the stall timeout,
// saying the store stopped answering.
func TestBackupToAStalledStoreFails(t *testing.T) {
	f, srv := minioFixture(t)
	proxy := stallproxy.Start(t, strings.TrimPrefix(srv.Endpoint, "http://"), "PUT /backups/cluster-a/shop/deployment/shop/data/", 1)
	ctx := context.Background()
	f.storeEndpoint("http://" + proxy.Addr)
	randomFile(t, filepath.Join(f.data, "big.raw"), 6<<20) // several 1 MiB test packs
	f.runner.StallTimeout = 2 * time.Second
	start := time.Now()
	_, err := f.runner.Backup(ctx, f.backupRequest(f.snapshot("s1"), "dump"))
	took := time.Since(start)
	select {
	case <-proxy.Stalled:
	default:
		t.Fatal("the backup ended before the store stalled")
	}
	c := f.component("s1", "dump")
	t.Logf("after %s: %s", took.Round(time.Millisecond), c.Error)
	if !errors.Is(err, ErrStalled) || c.Phase != storagev1.ComponentFailed || !strings.Contains(c.Error, "stopped answering: no data moved for 2s") {
		t.Fatalf("err %v, component %+v", err, c)
	}
	if took > time.Minute {
		t.Fatalf("the stalled backup took %s to fail", took)
	}
}

func TestWatchStallFiresOnlyWhenNothingMoves(t *testing.T) {
	var n int64
	ctx, stop := watchStall(context.Background(), func() int64 { n++; return n }, 300*time.Millisecond)
	time.Sleep(time.Second)
	if ctx.Err() != nil || stop() {
		t.Fatal("the watch fired while data moved")
	}
	ctx, stop = watchStall(context.Background(), func() int64 { return 7 }, 300*time.Millisecond)
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the watch did not fire while nothing moved")
	}
	if !stop() || !errors.Is(context.Cause(ctx), ErrStalled) {
		t.Fatalf("stop() after firing, cause %v", context.Cause(ctx))
	}
}

// TestRestoreFromAStalledStoreFails: the store stops answering once the
// restore has started reading pack data (a stopped or partitioned MinIO:
// requests sent, never answered, connections left open). The restore
// fails once nothing was written for the stall timeout, saying the store
// stopped answering and that running it again keeps what was restored,
// instead of waiting on the open connection forever.
func TestRestoreFromAStalledStoreFails(t *testing.T) {
	f, srv := minioFixture(t)
	randomFile(t, filepath.Join(f.data, "big.raw"), 6<<20) // several 1 MiB test packs
	f.backedUp("s1", time.Now())
	proxy := stallproxy.Start(t, strings.TrimPrefix(srv.Endpoint, "http://"), "GET /backups/cluster-a/shop/deployment/shop/data/", 1)
	ctx := context.Background()
	f.storeEndpoint("http://" + proxy.Addr)
	f.runner.StallTimeout = 2 * time.Second
	start := time.Now()
	_, err := f.runner.Restore(ctx, RestoreRequest{Namespace: appNS, RestoreSession: f.restoreSession("r1", "s1", encSecret), Component: "dump", TargetPath: t.TempDir()})
	took := time.Since(start)
	select {
	case <-proxy.Stalled:
	default:
		t.Fatal("the restore ended before the store stalled")
	}
	c := f.restoreComponent("r1", "dump")
	t.Logf("after %s: %s", took.Round(time.Millisecond), c.Error)
	if !errors.Is(err, ErrStalled) || c.Phase != storagev1.ComponentFailed ||
		!strings.Contains(c.Error, "stopped answering: no data moved for 2s, so the restore was stopped") || !strings.Contains(c.Error, "run the restore again") {
		t.Fatalf("err %v, component %+v", err, c)
	}
	if took > time.Minute {
		t.Fatalf("the stalled restore took %s to fail", took)
	}
}

// storeEndpoint points the fixture's S3 BackupStorage at another endpoint
// (a proxy in front of the store).
func (f *fixture) storeEndpoint(url string) {
	f.t.Helper()
	ctx := context.Background()
	bs, err := f.cairn.StorageV1alpha1().BackupStorages(storageNS).Get(ctx, "minio", metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	bs.Spec.Storage.S3.Endpoint = url
	if _, err := f.cairn.StorageV1alpha1().BackupStorages(storageNS).Update(ctx, bs, metav1.UpdateOptions{}); err != nil {
		f.t.Fatal(err)
	}
}
