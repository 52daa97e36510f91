package gcs

import (
	"context"
	"net/http"
	"testing"

	"gocloud.dev/blob/driver"
	"gocloud.dev/blob/drivertest"
)

// harness runs gocloud's driver conformance suite against the in-memory
// fake, so the driver meets the same contract as gocloud's own drivers.
type harness struct{ f *fakeGCS }

func (h *harness) MakeDriver(context.Context) (driver.Bucket, error) {
	return openBucket(context.Background(), h.f.bucket, Options{Client: h.f.srv.Client(), Endpoint: h.f.srv.URL}, false)
}

func (h *harness) MakeDriverForNonexistentBucket(context.Context) (driver.Bucket, error) {
	return openBucket(context.Background(), "no-such-bucket", Options{Client: h.f.srv.Client(), Endpoint: h.f.srv.URL}, false)
}

func (h *harness) HTTPClient() *http.Client         { return nil }
func (h *harness) SupportsCopy() bool               { return true }
func (h *harness) SupportsNonSlashDelimiters() bool { return true }
func (h *harness) Close()                           {}

func TestDriverConformance(t *testing.T) {
	drivertest.RunConformanceTests(t, func(_ context.Context, t *testing.T) (drivertest.Harness, error) {
		return &harness{f: newFakeGCS(t, "cairn-conformance")}, nil
	}, nil)
}
