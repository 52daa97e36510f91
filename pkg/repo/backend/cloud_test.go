package backend_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/repo/maint"
	"github.com/cairnbackup/cairn/pkg/repo/repotest"
	"github.com/cairnbackup/cairn/test/objstore"
)

// startStore starts an emulator on loopback. When its binary is not built
// (make tools-storage builds them) the test is skipped, unless
// CAIRN_REQUIRE_TOOLS=1 (set by make test after building the tools), where
// the missing binary fails it.
func startStore(t *testing.T, start func(context.Context, string) (*objstore.Server, error)) *objstore.Server {
	t.Helper()
	srv, err := start(context.Background(), "127.0.0.1:0")
	if err != nil && strings.Contains(err.Error(), "not built") && os.Getenv("CAIRN_REQUIRE_TOOLS") != "1" {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	if err := srv.CreateBucket(context.Background(), "cairn"); err != nil {
		t.Fatal(err)
	}
	return srv
}

func s3URL(srv *objstore.Server, bucket string) string {
	return "s3://" + bucket + "/repo?endpoint=" + srv.Endpoint + "&region=" + srv.Region + "&use_path_style=true"
}

// openMinIO starts MinIO, puts its credentials in the standard AWS
// variables and opens the "cairn" bucket under the prefix "repo".
func openMinIO(t *testing.T) (*objstore.Server, *backend.Backend) {
	t.Helper()
	srv := startStore(t, objstore.StartMinIO)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	be, err := backend.Open(context.Background(), s3URL(srv, "cairn"), backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	return srv, be
}

func TestS3Backend(t *testing.T) {
	ctx := context.Background()
	srv, be := openMinIO(t)
	conformance(t, be)

	if _, err := backend.Open(ctx, s3URL(srv, "nosuchbucket"), backend.Options{}); !errors.Is(err, backend.ErrNoBucket) {
		t.Errorf("missing bucket: %v, want ErrNoBucket", err)
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-key")
	if _, err := backend.Open(ctx, s3URL(srv, "cairn"), backend.Options{Retry: backend.RetryPolicy{Attempts: 1}}); !errors.Is(err, backend.ErrPermission) {
		t.Errorf("wrong secret: %v, want ErrPermission", err)
	} else if strings.Contains(err.Error(), "wrong-secret-key") {
		t.Error("error message leaks the secret")
	}
}

// A whole repository on S3: init, backup, reopen, read back, check data.
func TestRepositoryOnS3(t *testing.T) {
	ctx := context.Background()
	_, be := openMinIO(t)
	files := map[string][]byte{"big": make([]byte, 3<<20), "dir/small": []byte("hello")}
	for i := range files["big"] {
		files["big"][i] = byte(i * 7 % 251)
	}
	r2, _ := repotest.RoundTrip(t, be, files)
	res, err := maint.Check(ctx, r2, maint.CheckOptions{ReadData: true})
	if err != nil || len(res.Problems) != 0 {
		t.Fatalf("check: %v %+v", err, res)
	}
}

func TestGCSBackend(t *testing.T) {
	srv := startStore(t, objstore.StartFakeGCS)
	t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(srv.Endpoint, "http://"))
	be, err := backend.Open(context.Background(), "gs://cairn/repo?anonymous=true", backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	conformance(t, be)
}

func TestAzureBackend(t *testing.T) {
	srv := startStore(t, objstore.StartAzurite)
	host := strings.TrimPrefix(srv.Endpoint, "http://")
	host = host[:strings.Index(host, "/")]
	t.Setenv("AZURE_STORAGE_ACCOUNT", srv.AccessKey)
	t.Setenv("AZURE_STORAGE_KEY", srv.SecretKey)
	t.Setenv("AZURE_STORAGE_DOMAIN", host)
	t.Setenv("AZURE_STORAGE_PROTOCOL", "http")
	t.Setenv("AZURE_STORAGE_IS_LOCAL_EMULATOR", "true")
	be, err := backend.Open(context.Background(), "azblob://cairn/repo", backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	conformance(t, be)
}
