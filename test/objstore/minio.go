package objstore

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/cairnbackup/cairn/test/internal/proc"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"
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

// s3Ops talks to MinIO with the AWS SDK v2, as s3blob does.
type s3Ops struct{}

// client returns an S3 client with path-style addressing against the server.
func (s3Ops) client(s *Server) *s3.Client {
	cfg := aws.Config{
		Region:      s.Region,
		Credentials: credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(s.Endpoint)
		o.UsePathStyle = true
	})
}

func (o s3Ops) createBucket(ctx context.Context, s *Server, name string) error {
	_, err := o.client(s).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	return err
}

func (o s3Ops) openBucket(ctx context.Context, s *Server, name string) (*blob.Bucket, error) {
	b, err := s3blob.OpenBucket(ctx, o.client(s), name, nil)
	if err != nil {
		return nil, fmt.Errorf("s3blob: %w", err)
	}
	return b, nil
}
