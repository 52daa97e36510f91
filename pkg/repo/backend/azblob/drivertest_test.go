package azblob_test

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo/backend/azblob"
	"github.com/cairnbackup/cairn/test/objstore"
	"gocloud.dev/blob/driver"
	"gocloud.dev/blob/drivertest"
)

// harness runs gocloud's driver conformance suite against a real Azurite,
// one fresh container per test, so the driver meets the contract
// gocloud's own drivers meet and Azurite checks every Shared Key signature.
type harness struct {
	srv       *objstore.Server
	container string
}

// options are the driver settings for Azurite.
func azuriteOptions(srv *objstore.Server) *azblob.Options {
	return &azblob.Options{ServiceURL: srv.Endpoint, Account: srv.AccessKey, Key: srv.SecretKey, Client: http.DefaultClient}
}

// MakeDriver implements drivertest.Harness.
func (h *harness) MakeDriver(context.Context) (driver.Bucket, error) {
	// Small blocks so the suite's larger writes go through Put Block List.
	return azblob.OpenDriver(h.container, azuriteOptions(h.srv), 64<<10)
}

// MakeDriverForNonexistentBucket implements drivertest.Harness.
func (h *harness) MakeDriverForNonexistentBucket(context.Context) (driver.Bucket, error) {
	return azblob.OpenDriver("no-such-container", azuriteOptions(h.srv), 64<<10)
}

// HTTPClient implements drivertest.Harness; nil as SignedURL is unsupported.
func (h *harness) HTTPClient() *http.Client { return nil }

// SupportsCopy implements drivertest.Harness.
func (h *harness) SupportsCopy() bool { return true }

// SupportsNonSlashDelimiters implements drivertest.Harness. Azure takes
// any delimiter, but Azurite cuts at the first character of a longer one
// (and a "\" delimiter is sent as its escape, "__0x5c__"). Cairn lists
// with "/" or no delimiter only.
func (h *harness) SupportsNonSlashDelimiters() bool { return false }

// Close implements drivertest.Harness.
func (h *harness) Close() {}

// startAzurite starts Azurite for the test. When it is not built (make
// tools-storage builds it) the test is skipped, unless CAIRN_REQUIRE_TOOLS=1.
func startAzurite(t *testing.T) *objstore.Server {
	t.Helper()
	srv, err := objstore.StartAzurite(context.Background(), "127.0.0.1:0")
	if err != nil && strings.Contains(err.Error(), "not built") && os.Getenv("CAIRN_REQUIRE_TOOLS") != "1" {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	return srv
}

func TestDriverConformance(t *testing.T) {
	srv := startAzurite(t)
	var n atomic.Int32
	drivertest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (drivertest.Harness, error) {
		name := "conformance-" + strconv.Itoa(int(n.Add(1)))
		if err := srv.CreateBucket(ctx, name); err != nil {
			return nil, err
		}
		return &harness{srv: srv, container: name}, nil
	}, nil)
}
