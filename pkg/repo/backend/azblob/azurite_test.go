package azblob_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"gocloud.dev/blob"

	"github.com/cairnbackup/cairn/pkg/repo/backend/azblob"
	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/conformance"
	"github.com/cairnbackup/cairn/test/objstore"
)

func options(srv *objstore.Server) azblob.Options {
	return azblob.Options{ServiceURL: srv.Endpoint, Account: srv.AccessKey, Key: srv.SecretKey}
}

// azuriteGaps are the conformance subtests skipped here, none on a path
// cairn uses:
//   - TestCanceledWrite, TestIfNotExist: when an upload through azureblob's
//     writer fails, its Close dereferences the pipe the upload goroutine
//     has just set to nil and panics (gocloud.dev v0.47.0; fixed in
//     v0.49.0). The backend's Put does not use that writer for the
//     repository's keys (see directupload), and it recovers a driver's
//     panic in Close as an error;
//   - TestSignedURL: a PUT to a SAS URL needs an x-ms-blob-type header,
//     which the suite's plain PUT lacks (Azurite answers 400); cairn makes
//     no signed URLs.
const azuriteGaps = `^TestConformance$/^(TestCanceledWrite|TestIfNotExist|TestSignedURL)$`

func TestMain(m *testing.M) { conformance.Main(m, azuriteGaps) }

func TestConformance(t *testing.T) {
	srv := conformance.StartStore(t, objstore.StartAzurite, "cairn-conformance")
	// azureblob as this package configures it (no SDK retries, Shared
	// Key). Azurite lists with "\\" or "abc" delimiters wrongly (cairn
	// lists without one).
	conformance.Run(t, conformance.Harness{
		Open: func(ctx context.Context, name string) (*blob.Bucket, error) {
			b, _, err := azblob.Open(ctx, name, options(srv))
			return b, err
		},
		Bucket: "cairn-conformance",
		Client: http.DefaultClient, // the suite uses SAS URLs
	})
}

// The direct upload is write-once and stores exactly the caller's bytes,
// above the SDK's single-request size for streams.
func TestDirectUploadWriteOnce(t *testing.T) {
	ctx := t.Context()
	srv := conformance.StartStore(t, objstore.StartAzurite, "cairn-once")
	b, put, err := azblob.Open(ctx, "cairn-once", options(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	data := bytes.Repeat([]byte("cairn"), 4<<20) // 20 MiB
	if err := put(ctx, "pack", data); err != nil {
		t.Fatal(err)
	}
	if err := put(ctx, "pack", []byte("other")); err == nil || !strings.Contains(err.Error(), "BlobAlreadyExists") {
		t.Fatalf("second create: %v, want BlobAlreadyExists", err)
	}
	if got, err := b.ReadAll(ctx, "pack"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}
	// Upload, not WriteAll: see azuriteGaps.
	if err := b.Upload(ctx, "pack", bytes.NewReader(data), &blob.WriterOptions{IfNotExist: true}); err == nil {
		t.Fatal("writer create over an existing object succeeded")
	}
}

// Opening the container again and again (the operator opens one per
// sync) reuses the process's connections.
func TestReopensShareConnections(t *testing.T) {
	srv := conformance.StartStore(t, objstore.StartAzurite, "cairn-reopen")
	conformance.CheckReopensShareConnections(t, srv.Endpoint, func(ctx context.Context, endpoint string) (*blob.Bucket, error) {
		o := options(srv)
		o.ServiceURL = endpoint
		b, _, err := azblob.Open(ctx, "cairn-reopen", o)
		return b, err
	})
}
