package backend_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo/backend"
	drivers "github.com/cairnbackup/cairn/pkg/repo/backend/internal/conformance"
	"github.com/cairnbackup/cairn/pkg/repo/maint"
	"github.com/cairnbackup/cairn/pkg/repo/repotest"
	"github.com/cairnbackup/cairn/test/objstore"
)

// startStore starts an emulator with the bucket "cairn" (see
// drivers.StartStore).
func startStore(t *testing.T, start func(context.Context, string) (*objstore.Server, error)) *objstore.Server {
	return drivers.StartStore(t, start, "cairn")
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
	if _, err := backend.Open(ctx, s3URL(srv, "cairn")+"&colour=blue", backend.Options{}); err == nil ||
		!strings.Contains(err.Error(), `"colour"`) || !strings.Contains(err.Error(), "use_path_style") {
		t.Errorf("unknown query parameter: %v, want an error naming it and the accepted ones", err)
	}
	// Wrong credentials fail at once (no retries) with the store's error
	// code, and the message holds neither the secret nor a signature.
	one := backend.Options{Retry: backend.RetryPolicy{Attempts: 1}}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-key")
	if _, err := backend.Open(ctx, s3URL(srv, "cairn"), one); !errors.Is(err, backend.ErrPermission) || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Errorf("wrong secret: %v, want ErrPermission naming SignatureDoesNotMatch", err)
	} else if strings.Contains(err.Error(), "wrong-secret-key") || strings.Contains(err.Error(), "Signature=") {
		t.Error("error message leaks the secret or the signature")
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIANOSUCHKEY")
	if _, err := backend.Open(ctx, s3URL(srv, "cairn"), one); !errors.Is(err, backend.ErrPermission) || !strings.Contains(err.Error(), "InvalidAccessKeyId") {
		t.Errorf("unknown access key: %v, want ErrPermission naming InvalidAccessKeyId", err)
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

// openFakeGCS starts fake-gcs-server, points STORAGE_EMULATOR_HOST at it
// (as a user would) and opens the "cairn" bucket under the prefix "repo".
func openFakeGCS(t *testing.T) (*objstore.Server, *backend.Backend) {
	t.Helper()
	srv := startStore(t, objstore.StartFakeGCS)
	t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(srv.Endpoint, "http://"))
	be, err := backend.Open(context.Background(), "gs://cairn/repo?anonymous=true", backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	return srv, be
}

func TestGCSBackend(t *testing.T) {
	ctx := context.Background()
	_, be := openFakeGCS(t)
	conformance(t, be)

	if _, err := backend.Open(ctx, "gs://nosuchbucket/repo", backend.Options{}); !errors.Is(err, backend.ErrNoBucket) {
		t.Errorf("missing bucket: %v, want ErrNoBucket", err)
	}
	if _, err := backend.Open(ctx, "gs://cairn/repo?grpc=true", backend.Options{}); err == nil || !strings.Contains(err.Error(), `"grpc"`) {
		t.Errorf("unsupported query parameter: %v, want an error naming it", err)
	}
}

// A whole repository on GCS: init, backup, reopen, read back, check data.
func TestRepositoryOnGCS(t *testing.T) {
	_, be := openFakeGCS(t)
	files := map[string][]byte{"big": make([]byte, 3<<20), "dir/small": []byte("hello")}
	for i := range files["big"] {
		files["big"][i] = byte(i * 13 % 251)
	}
	r2, _ := repotest.RoundTrip(t, be, files)
	res, err := maint.Check(context.Background(), r2, maint.CheckOptions{ReadData: true})
	if err != nil || len(res.Problems) != 0 {
		t.Fatalf("check: %v %+v", err, res)
	}
}

// TestAzureBackend runs the backend through cairn's own azblob driver
// against Azurite, configured the way a user would (environment), and then
// a whole repository: init, backup, reopen, read back, check data. Missing
// containers, wrong keys and unknown URL parameters must be reported as
// such, and a wrong key must never show up in a message.
func TestAzureBackend(t *testing.T) {
	ctx := context.Background()
	srv := startStore(t, objstore.StartAzurite)
	host := strings.TrimPrefix(srv.Endpoint, "http://")
	host = host[:strings.Index(host, "/")]
	t.Setenv("AZURE_STORAGE_ACCOUNT", srv.AccessKey)
	t.Setenv("AZURE_STORAGE_KEY", srv.SecretKey)
	t.Setenv("AZURE_STORAGE_DOMAIN", host)
	t.Setenv("AZURE_STORAGE_PROTOCOL", "http")
	t.Setenv("AZURE_STORAGE_IS_LOCAL_EMULATOR", "true")
	be, err := backend.Open(ctx, "azblob://cairn/repo", backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	conformance(t, be)

	files := map[string][]byte{"big": make([]byte, 3<<20), "dir/small": []byte("hello")}
	for i := range files["big"] {
		files["big"][i] = byte(i * 11 % 251)
	}
	r2, _ := repotest.RoundTrip(t, be, files)
	if res, err := maint.Check(ctx, r2, maint.CheckOptions{ReadData: true}); err != nil || len(res.Problems) != 0 {
		t.Fatalf("check: %v %+v", err, res)
	}

	if _, err := backend.Open(ctx, "azblob://nosuchcontainer/repo", backend.Options{}); !errors.Is(err, backend.ErrNoBucket) {
		t.Errorf("missing container: %v, want ErrNoBucket", err)
	}
	if _, err := backend.Open(ctx, "azblob://cairn/repo?cdn=true", backend.Options{}); err == nil || !strings.Contains(err.Error(), `"cdn"`) {
		t.Errorf("unsupported query parameter: %v, want an error naming it", err)
	}
	wrong := base64.StdEncoding.EncodeToString([]byte("wrong-account-key-wrong-account-key"))
	t.Setenv("AZURE_STORAGE_KEY", wrong)
	_, err = backend.Open(ctx, "azblob://cairn/repo", backend.Options{Retry: backend.RetryPolicy{Attempts: 1}})
	if !errors.Is(err, backend.ErrPermission) {
		t.Errorf("wrong key: %v, want ErrPermission", err)
	} else if strings.Contains(err.Error(), wrong) {
		t.Error("error message leaks the key")
	}
}
