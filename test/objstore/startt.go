package objstore

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// StartT starts an emulator for test t on a free loopback port and stops it
// when the test ends. When the emulator is not built it skips the test, or
// fails it if CAIRN_REQUIRE_TOOLS=1 (set by `make test` after `make tools`,
// so a missing tool is never silently skipped there). Use it as
// objstore.StartT(t, objstore.StartMinIO).
func StartT(t testing.TB, start func(ctx context.Context, addr string) (*Server, error)) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := start(ctx, "127.0.0.1:0")
	if errors.Is(err, ErrNotBuilt) {
		if os.Getenv("CAIRN_REQUIRE_TOOLS") == "1" {
			t.Fatal(err)
		}
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("stop %s: %v", srv.Kind, err)
		}
	})
	return srv
}
