package objstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"gocloud.dev/gcerrors"
)

// roundTrip creates a bucket, writes an object through gocloud.dev/blob,
// reads it back, lists it, and checks that a missing key maps to NotFound.
func roundTrip(t *testing.T, srv *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const bucketName = "cairn-test"
	if err := srv.CreateBucket(ctx, bucketName); err != nil {
		t.Fatal(err)
	}
	b, err := srv.OpenBucket(ctx, bucketName)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	payload := bytes.Repeat([]byte("cairn snapshot chunk "), 4096) // 84 KiB, beyond one small buffer
	if err := b.WriteAll(ctx, "repo/data/chunk-1", payload, nil); err != nil {
		t.Fatalf("write: %v", err)
	}
	got, err := b.ReadAll(ctx, "repo/data/chunk-1")
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("read %d bytes, want the %d written", len(got), len(payload))
	}
	r, err := b.NewRangeReader(ctx, "repo/data/chunk-1", 6, 8, nil)
	if err != nil {
		t.Fatalf("range read: %v", err)
	}
	part, _ := io.ReadAll(r)
	r.Close()
	if string(part) != "snapshot" {
		t.Fatalf("range read = %q, want %q", part, "snapshot")
	}
	it := b.List(nil)
	obj, err := it.Next(ctx)
	if err != nil || obj.Key != "repo/data/chunk-1" || obj.Size != int64(len(payload)) {
		t.Fatalf("list = %+v, %v; want the one object written", obj, err)
	}
	if _, err := b.ReadAll(ctx, "repo/missing"); gcerrors.Code(err) != gcerrors.NotFound {
		t.Fatalf("reading a missing key: %v, want NotFound", err)
	}
}

// stopAndCheck stops srv and checks that its port and data are gone.
func stopAndCheck(t *testing.T, srv *Server) {
	t.Helper()
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := os.Stat(srv.dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("state dir %s still present after Stop (%v)", srv.dir, err)
	}
	if !srv.proc.Exited() {
		t.Fatal("process still running after Stop")
	}
}

// TestRoundTrip starts each emulator on loopback and drives it through
// gocloud.dev/blob, then checks Stop cleans up.
func TestRoundTrip(t *testing.T) {
	for name, start := range map[string]func(context.Context, string) (*Server, error){
		"minio": StartMinIO, "fake-gcs": StartFakeGCS, "azurite": StartAzurite,
	} {
		t.Run(name, func(t *testing.T) {
			srv := StartT(t, start)
			if srv.Kind != KindGCS && (srv.AccessKey == "" || len(srv.SecretKey) < 8) {
				t.Fatalf("credentials not filled in: access %q, secret length %d", srv.AccessKey, len(srv.SecretKey))
			}
			roundTrip(t, srv)
			stopAndCheck(t, srv)
		})
	}
}
