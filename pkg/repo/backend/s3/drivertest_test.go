package s3_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo/backend/s3"
	"github.com/cairnbackup/cairn/pkg/repo/backend/s3/awscred"
	"github.com/cairnbackup/cairn/pkg/repo/backend/s3/sigv4"
	"github.com/cairnbackup/cairn/test/objstore"
	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/blob/drivertest"
	"gocloud.dev/gcerrors"
)

// harness runs gocloud's driver conformance suite against a real MinIO, so
// the driver meets the contract gocloud's own drivers meet.
type harness struct {
	srv    *objstore.Server
	bucket string
}

func (h *harness) options() s3.Options {
	return s3.Options{
		Region: h.srv.Region, Endpoint: h.srv.Endpoint, UsePathStyle: true,
		Credentials: awscred.Static{Creds: sigv4.Credentials{AccessKeyID: h.srv.AccessKey, SecretAccessKey: h.srv.SecretKey}},
	}
}

// MakeDriver implements drivertest.Harness.
func (h *harness) MakeDriver(ctx context.Context) (driver.Bucket, error) {
	return s3.OpenDriver(ctx, h.bucket, h.options())
}

// MakeDriverForNonexistentBucket implements drivertest.Harness.
func (h *harness) MakeDriverForNonexistentBucket(ctx context.Context) (driver.Bucket, error) {
	return s3.OpenDriver(ctx, "no-such-bucket", h.options())
}

// HTTPClient implements drivertest.Harness: the suite uses presigned URLs
// with it.
func (h *harness) HTTPClient() *http.Client { return http.DefaultClient }

// SupportsCopy implements drivertest.Harness.
func (h *harness) SupportsCopy() bool { return true }

// SupportsNonSlashDelimiters implements drivertest.Harness. The driver
// passes any delimiter through, but MinIO pages through "directories" of
// other delimiters wrongly: after the common prefix q\dir1\ its
// continuation token lists q\dir1\ again, forever. The fake-server tests
// cover other delimiters.
func (h *harness) SupportsNonSlashDelimiters() bool { return false }

// Close implements drivertest.Harness.
func (h *harness) Close() {}

// startMinIO starts MinIO with one bucket; without its binary (make
// tools-storage builds it) the test is skipped unless CAIRN_REQUIRE_TOOLS=1.
func startMinIO(t *testing.T, bucket string) *objstore.Server {
	t.Helper()
	srv, err := objstore.StartMinIO(context.Background(), "127.0.0.1:0")
	if err != nil && strings.Contains(err.Error(), "not built") && os.Getenv("CAIRN_REQUIRE_TOOLS") != "1" {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	if err := srv.CreateBucket(context.Background(), bucket); err != nil {
		t.Fatal(err)
	}
	return srv
}

func TestDriverConformance(t *testing.T) {
	srv := startMinIO(t, "cairn-conformance")
	drivertest.RunConformanceTests(t, func(context.Context, *testing.T) (drivertest.Harness, error) {
		return &harness{srv: srv, bucket: "cairn-conformance"}, nil
	}, nil)
}

// Write-once creates against a real MinIO, on both write paths: a
// multipart upload (If-None-Match on CompleteMultipartUpload) and the
// zero-copy single PutObject that Backend.Put uses.
func TestMinIOWriteOnce(t *testing.T) {
	srv := startMinIO(t, "cairn-once")
	h := &harness{srv: srv, bucket: "cairn-once"}
	o := h.options()
	o.PartSize = 5 << 20
	b, err := s3.OpenBucket(t.Context(), "cairn-once", &o)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	data := bytes.Repeat([]byte("cairn"), 3<<20) // 15 MiB: three parts
	once := &blob.WriterOptions{IfNotExist: true, ContentType: "application/octet-stream"}
	for _, key := range []string{"mp", "put"} {
		write := func(d []byte) error {
			if key == "put" {
				return b.Upload(t.Context(), key, bytes.NewReader(d), once)
			}
			return b.WriteAll(t.Context(), key, d, once)
		}
		if err := write(data); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if err := write([]byte("other")); gcerrors.Code(err) != gcerrors.FailedPrecondition {
			t.Fatalf("%s: second create: %v, want FailedPrecondition", key, err)
		}
		got, err := b.ReadAll(t.Context(), key)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s: read back %d bytes, %v", key, len(got), err)
		}
	}
}
