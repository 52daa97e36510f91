package repotest

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/test/objstore"
)

// MinIO starts MinIO on loopback with a bucket "cairn" and puts its
// credentials in the standard AWS variables for the rest of the test
// (child processes inherit them). When MinIO is not built (make
// tools-storage builds it) the test is skipped, unless
// CAIRN_REQUIRE_TOOLS=1 (make test), where that fails it.
func MinIO(t *testing.T) *objstore.Server {
	t.Helper()
	srv, err := objstore.StartMinIO(context.Background(), "127.0.0.1:0")
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
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	return srv
}

// S3URL is the repository URL for prefix "repo" of bucket "cairn" on the
// S3 endpoint at hostPort (MinIO's, or a proxy's in front of it).
func S3URL(hostPort, region string) string {
	return "s3://cairn/repo?endpoint=http://" + hostPort + "&region=" + region + "&use_path_style=true"
}
