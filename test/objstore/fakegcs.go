package objstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/cairnbackup/cairn/pkg/repo/backend/gcs"
	"github.com/cairnbackup/cairn/test/internal/proc"
	"gocloud.dev/blob"
)

// StartFakeGCS starts fake-gcs-server (the GCS JSON API) on addr, storing
// objects on disk. It needs no credentials. Call Stop when done.
func StartFakeGCS(ctx context.Context, addr string) (*Server, error) {
	bin, err := fakeGCSBinary()
	if err != nil {
		return nil, err
	}
	return start(ctx, addr, launchSpec{
		name: "fake-gcs-server",
		kind: KindGCS,
		ops:  gcsOps{},
		endpoint: func(host string, port int) string {
			return "http://" + net.JoinHostPort(host, strconv.Itoa(port))
		},
		command: func(srv *Server, host string, port int, dir string) ([]string, []string, error) {
			argv := []string{bin,
				"-scheme", "http",
				"-host", host,
				"-port", strconv.Itoa(port),
				"-backend", "filesystem",
				"-filesystem-root", dir + "/data",
				"-public-host", srv.Addr,
				"-external-url", srv.Endpoint,
				"-log-level", "warn",
			}
			return nil, argv, nil
		},
		probe: func(srv *Server) proc.Check {
			return proc.HTTPCheck(srv.Endpoint + "/storage/v1/b")
		},
	})
}

// gcsOps talks to fake-gcs-server: bucket creation over the JSON API,
// objects through the product's GCS opener pointed at the emulator.
type gcsOps struct{}

func (gcsOps) createBucket(ctx context.Context, s *Server, name string) error {
	body, _ := json.Marshal(map[string]string{"name": name})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Endpoint+"/storage/v1/b?project=cairn", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

// openBucket opens the bucket through the product's GCS opener.
func (gcsOps) openBucket(ctx context.Context, s *Server, name string) (*blob.Bucket, error) {
	b, _, err := gcs.Open(ctx, name, gcs.Config{Emulator: s.Endpoint})
	if err != nil {
		return nil, fmt.Errorf("gcs: %w", err)
	}
	return b, nil
}
