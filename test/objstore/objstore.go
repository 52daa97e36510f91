// Package objstore starts throw-away object-store servers for tests: MinIO
// (S3), fake-gcs-server (GCS) and Azurite (Azure Blob). Each runs as a child
// process on one explicit address (loopback, or the cluster bridge so pods can
// reach it), with its data in a temporary directory that Stop removes. The
// binaries come from the tool cache that `make tools-storage` fills.
package objstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"

	"github.com/cairnbackup/cairn/test/internal/proc"
	"gocloud.dev/blob"
)

// Kind names the cloud API a Server speaks.
type Kind string

// The kinds of object store this package can start.
const (
	KindS3    Kind = "s3"
	KindGCS   Kind = "gcs"
	KindAzure Kind = "azure"
)

// Server is one running object-store emulator. Its fields are what a client
// (a test, or a Cairn BackupStorage in a pod) needs to connect.
type Server struct {
	// Kind is the API the server speaks.
	Kind Kind
	// Addr is the host:port the server listens on.
	Addr string
	// Endpoint is the base URL, e.g. http://127.0.0.1:9000. For Azure it
	// is the service URL including the account path segment.
	Endpoint string
	// AccessKey is the S3 access key or the Azure account name; empty for GCS,
	// whose emulator needs no credentials.
	AccessKey string
	// SecretKey is the S3 secret key or the Azure account key (base64).
	// Never log it.
	SecretKey string
	// Region is the S3 region the server answers for; empty otherwise.
	Region string

	dir      string
	proc     *proc.Proc
	ops      bucketOps
	stopOnce sync.Once
	stopErr  error
}

// bucketOps is the part that differs per cloud API: how to make a bucket and
// how to open it through gocloud.dev/blob.
type bucketOps interface {
	createBucket(ctx context.Context, s *Server, name string) error
	openBucket(ctx context.Context, s *Server, name string) (*blob.Bucket, error)
}

// CreateBucket creates an empty bucket (an Azure container) named name.
func (s *Server) CreateBucket(ctx context.Context, name string) error {
	if name == "" {
		return errors.New("objstore: bucket name is empty")
	}
	if err := s.ops.createBucket(ctx, s, name); err != nil {
		return fmt.Errorf("objstore: create %s bucket %q at %s: %w", s.Kind, name, s.Endpoint, err)
	}
	return nil
}

// OpenBucket opens an existing bucket through gocloud.dev/blob with the
// server's own credentials, the same driver Cairn uses in production.
func (s *Server) OpenBucket(ctx context.Context, name string) (*blob.Bucket, error) {
	b, err := s.ops.openBucket(ctx, s, name)
	if err != nil {
		return nil, fmt.Errorf("objstore: open %s bucket %q at %s: %w", s.Kind, name, s.Endpoint, err)
	}
	return b, nil
}

// LogPath is the server's log file, useful when a test fails.
func (s *Server) LogPath() string { return s.proc.Log }

// Stop ends the server process and removes its data. It is safe to call
// more than once, also concurrently (a deferred Stop after an explicit one);
// later calls return the first call's result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.stopErr = s.proc.Stop(stopTimeout)
		if err := os.RemoveAll(s.dir); err != nil && s.stopErr == nil {
			s.stopErr = fmt.Errorf("objstore: remove %s state %s: %w", s.Kind, s.dir, err)
		}
	})
	return s.stopErr
}

// launchSpec describes how to run one emulator on a given host and port.
type launchSpec struct {
	name string
	kind Kind
	ops  bucketOps
	// command returns the extra environment and argv for host:port with
	// state in dir; it may fill credential fields of srv.
	command func(srv *Server, host string, port int, dir string) (env, argv []string, err error)
	// endpoint returns the client base URL for host:port.
	endpoint func(host string, port int) string
	// probe is done once the server serves requests.
	probe func(srv *Server) proc.Check
}

// start runs spec on addr. When the caller let us pick the port, a start
// that loses the port to another process is retried on a fresh one.
func start(ctx context.Context, addr string, spec launchSpec) (*Server, error) {
	_, p, err := net.SplitHostPort(addr)
	autoPort := err == nil && p == "0"
	attempts := 1
	if autoPort {
		attempts = 3
	}
	for i := 1; ; i++ {
		srv, err := startOnce(ctx, addr, spec)
		if err == nil || !errors.Is(err, errAddrInUse) || i >= attempts {
			return srv, err
		}
	}
}

// startOnce is one attempt of start.
func startOnce(ctx context.Context, addr string, spec launchSpec) (*Server, error) {
	host, port, err := resolveAddr(addr)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "cairn-"+spec.name+"-")
	if err != nil {
		return nil, fmt.Errorf("objstore: state directory for %s: %w", spec.name, err)
	}
	srv := &Server{
		Kind:     spec.kind,
		Addr:     net.JoinHostPort(host, strconv.Itoa(port)),
		Endpoint: spec.endpoint(host, port),
		dir:      dir,
		ops:      spec.ops,
	}
	env, argv, err := spec.command(srv, host, port, dir)
	if err == nil {
		srv.proc, err = proc.Start(spec.name, argv, proc.Options{LogDir: dir, Env: env})
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("objstore: %w", err)
	}
	err = proc.Wait(ctx, startTimeout, spec.name+" on "+srv.Addr, []*proc.Proc{srv.proc}, spec.probe(srv))
	if err != nil {
		inUse := lostPortRace(srv.proc)
		srv.Stop()
		if inUse {
			return nil, fmt.Errorf("%w: %v", errAddrInUse, err)
		}
		return nil, fmt.Errorf("objstore: %w", err)
	}
	return srv, nil
}

// randomHex returns n random bytes hex-encoded, for per-run credentials.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // documented never to return an error since Go 1.24
	return hex.EncodeToString(b)
}
