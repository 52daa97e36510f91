package gcs

import (
	"context"
	"net/http"
	"testing"

	"gocloud.dev/blob/driver"
	"gocloud.dev/blob/drivertest"
)

// harness runs gocloud's driver conformance suite against the in-memory
// fake, so the driver meets the contract gocloud's own drivers meet. (Not
// against fake-gcs-server: its filesystem store cannot hold the suite's
// names with NUL or a trailing "/", and its maxResults ignores prefixes.)
type harness struct {
	endpoint, bucket string
	client           *http.Client
}

// MakeDriver implements drivertest.Harness.
func (h *harness) MakeDriver(ctx context.Context) (driver.Bucket, error) {
	return openBucket(ctx, h.bucket, Options{Client: h.client, Endpoint: h.endpoint}, false)
}

// MakeDriverForNonexistentBucket implements drivertest.Harness.
func (h *harness) MakeDriverForNonexistentBucket(ctx context.Context) (driver.Bucket, error) {
	return openBucket(ctx, "no-such-bucket", Options{Client: h.client, Endpoint: h.endpoint}, false)
}

// HTTPClient implements drivertest.Harness; nil as SignedURL is unsupported.
func (h *harness) HTTPClient() *http.Client { return nil }

// SupportsCopy implements drivertest.Harness.
func (h *harness) SupportsCopy() bool { return true }

// SupportsNonSlashDelimiters implements drivertest.Harness.
func (h *harness) SupportsNonSlashDelimiters() bool { return true }

// Close implements drivertest.Harness.
func (h *harness) Close() {}

func TestDriverConformance(t *testing.T) {
	drivertest.RunConformanceTests(t, func(_ context.Context, t *testing.T) (drivertest.Harness, error) {
		f := newFakeGCS(t, "cairn-conformance")
		return &harness{endpoint: f.srv.URL, bucket: f.bucket, client: f.srv.Client()}, nil
	}, nil)
}
