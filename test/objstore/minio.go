package objstore

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo/backend/s3"
	"github.com/cairnbackup/cairn/pkg/repo/backend/s3/awscred"
	"github.com/cairnbackup/cairn/pkg/repo/backend/s3/sigv4"
	"github.com/cairnbackup/cairn/test/internal/proc"
	"gocloud.dev/blob"
)

// minioRegion is the region MinIO reports; clients must sign for it.
const minioRegion = "us-east-1"

// StartMinIO starts a MinIO S3 server on addr ("127.0.0.1:0" picks a free
// loopback port; use the cluster bridge IP so pods can reach it). It gets
// fresh random root credentials, returned in the Server. Call Stop when done.
func StartMinIO(ctx context.Context, addr string) (*Server, error) {
	bin, err := minioBinary()
	if err != nil {
		return nil, err
	}
	return start(ctx, addr, launchSpec{
		name: "minio",
		kind: KindS3,
		ops:  s3Ops{},
		endpoint: func(host string, port int) string {
			return "http://" + net.JoinHostPort(host, strconv.Itoa(port))
		},
		command: func(srv *Server, host string, port int, dir string) ([]string, []string, error) {
			srv.AccessKey = "cairn" + randomHex(6)
			srv.SecretKey = randomHex(20)
			srv.Region = minioRegion
			// The web console would listen on a second port; keep it off and,
			// should a MinIO release ignore that, bound to loopback.
			console, err := freePort("127.0.0.1")
			if err != nil {
				return nil, nil, err
			}
			env := []string{
				"MINIO_ROOT_USER=" + srv.AccessKey,
				"MINIO_ROOT_PASSWORD=" + srv.SecretKey,
				"MINIO_BROWSER=off",
				"MINIO_UPDATE=off",
				"MINIO_REGION=" + minioRegion,
			}
			argv := []string{bin, "server", "--quiet",
				"--address", srv.Addr,
				"--console-address", net.JoinHostPort("127.0.0.1", strconv.Itoa(console)),
				dir + "/data"}
			return env, argv, nil
		},
		probe: func(srv *Server) proc.Check {
			return proc.HTTPCheck(srv.Endpoint + "/minio/health/ready")
		},
	})
}

// s3Ops talks to MinIO with cairn's own S3 driver and signer, the code
// the product uses (test code must not register a second "s3" driver).
type s3Ops struct{}

// options addresses the server path-style with its root credentials.
func (s3Ops) options(s *Server) *s3.Options {
	return &s3.Options{
		Region: s.Region, Endpoint: s.Endpoint, UsePathStyle: true,
		Credentials: awscred.Static{Creds: sigv4.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey}},
	}
}

// createBucket sends a signed CreateBucket (PUT /<bucket>); the driver has
// no bucket-level calls. A server still starting up answers 503 for a
// moment after its health check passes: that is retried for a while.
func (s3Ops) createBucket(ctx context.Context, s *Server, name string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, body, err := putBucket(ctx, s, name)
		switch {
		case err != nil:
			return err
		case status == http.StatusOK:
			return nil
		case status != http.StatusServiceUnavailable || time.Now().After(deadline):
			return fmt.Errorf("CreateBucket: HTTP %d: %s", status, body)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// putBucket sends one CreateBucket and returns the status and the start of
// the answer.
func putBucket(ctx context.Context, s *Server, name string) (int, []byte, error) {
	// Bucket names are [a-z0-9.-]: PathEscape leaves them as they are.
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.Endpoint+"/"+url.PathEscape(name), http.NoBody)
	if err != nil {
		return 0, nil, err
	}
	creds := sigv4.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey}
	sigv4.Sign(req, creds, s.Region, "s3", sigv4.EmptyPayloadHash, time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, body, nil
}

func (o s3Ops) openBucket(ctx context.Context, s *Server, name string) (*blob.Bucket, error) {
	return s3.OpenBucket(ctx, name, o.options(s))
}
