package objstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cairnbackup/cairn/pkg/repo/backend/s3"
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

// s3Ops talks to MinIO through the AWS SDK client and gocloud's s3blob
// driver, configured by the same code the product uses.
type s3Ops struct{}

// config addresses the server path-style with its root credentials.
func (s3Ops) config(s *Server) s3.Config {
	return s3.Config{
		Region: s.Region, Endpoint: s.Endpoint, UsePathStyle: true,
		Keys: &s3.Keys{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey},
	}
}

// createBucket sends CreateBucket. A server still starting up answers 503
// for a moment after its health check passes: that is retried for a while.
func (o s3Ops) createBucket(ctx context.Context, s *Server, name string) error {
	client, err := s3.NewClient(ctx, o.config(s))
	if err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := client.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: &name})
		var re interface{ HTTPStatusCode() int }
		switch {
		case err == nil:
			return nil
		case !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusServiceUnavailable || time.Now().After(deadline):
			return fmt.Errorf("CreateBucket: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (o s3Ops) openBucket(ctx context.Context, s *Server, name string) (*blob.Bucket, error) {
	b, _, err := s3.Open(ctx, name, o.config(s))
	return b, err
}
