package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/cairnbackup/cairn/test/objstore"
)

// minioBucket holds every repository of a MinIO run, one key prefix each.
const minioBucket = "bench"

// minio is the MinIO server of a -minio run: both tools back up to it over
// loopback, so the run measures each tool's S3 client (its SDK, buffers
// and concurrency) against the same server and disk.
type minio struct {
	srv  *objstore.Server
	data string // the server's data directory: bucket/prefix/... on disk
	work string
}

// startMinIO starts MinIO with its data under work (the fresh file system
// of the run, not /tmp) and creates the bucket.
func startMinIO(work string) (*minio, error) {
	// The objstore package makes the server's state directory in TMPDIR.
	dir := filepath.Join(work, "minio")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	prev, had := os.LookupEnv("TMPDIR")
	os.Setenv("TMPDIR", dir)
	srv, err := objstore.StartMinIO(context.Background(), "127.0.0.1:0")
	if had {
		os.Setenv("TMPDIR", prev)
	} else {
		os.Unsetenv("TMPDIR")
	}
	if err != nil {
		return nil, fmt.Errorf("start MinIO (make tools-storage builds it): %w", err)
	}
	if err := srv.CreateBucket(context.Background(), minioBucket); err != nil {
		srv.Stop()
		return nil, err
	}
	data, err := filepath.Glob(filepath.Join(dir, "cairn-minio-*", "data"))
	if err != nil || len(data) != 1 {
		srv.Stop()
		return nil, fmt.Errorf("MinIO's data directory under %s: found %v", dir, data)
	}
	return &minio{srv: srv, data: data[0], work: work}, nil
}

// stop stops the server (its data goes with the work directory).
func (m *minio) stop() { m.srv.Stop() }

// onMinIO runs a tool against MinIO: the local repository paths the
// benchmark works with (under work) become key prefixes in the bucket.
type onMinIO struct {
	tool
	m *minio
}

// prefix is the key prefix for a repository path.
func (o onMinIO) prefix(repo string) string {
	rel, err := filepath.Rel(o.m.work, repo)
	if err != nil {
		return filepath.Base(repo)
	}
	return filepath.ToSlash(rel)
}

// url is the tool's repository URL for repo.
func (o onMinIO) url(repo string) string {
	if _, ok := o.tool.(*resticTool); ok {
		return "s3:" + o.m.srv.Endpoint + "/" + minioBucket + "/" + o.prefix(repo)
	}
	q := url.Values{"endpoint": {o.m.srv.Endpoint}, "region": {o.m.srv.Region}, "use_path_style": {"true"}}
	return "s3://" + minioBucket + "/" + o.prefix(repo) + "?" + q.Encode()
}

func (o onMinIO) initRepo(repo string) []string     { return o.tool.initRepo(o.url(repo)) }
func (o onMinIO) backup(repo, path string) []string { return o.tool.backup(o.url(repo), path) }
func (o onMinIO) restore(repo, t string) []string   { return o.tool.restore(o.url(repo), t) }

// env adds MinIO's keys in the AWS variables both tools read.
func (o onMinIO) env() []string {
	return append(o.tool.env(), "AWS_ACCESS_KEY_ID="+o.m.srv.AccessKey, "AWS_SECRET_ACCESS_KEY="+o.m.srv.SecretKey)
}

// repoSize is what MinIO stores on disk for the repository (its objects
// with MinIO's own metadata, alike for both tools).
func (o onMinIO) repoSize(repo string) (int64, error) {
	return dirSize(filepath.Join(o.m.data, minioBucket, filepath.FromSlash(o.prefix(repo))))
}

// unwrap is the tool a MinIO run wraps, or t: what the benchmark reads
// from the tool itself (cairn's own peak RSS figures) does not depend on
// where its repository is.
func unwrap(t tool) tool {
	if o, ok := t.(onMinIO); ok {
		return o.tool
	}
	return t
}

// storedSize is a repository's stored size: on disk for a local
// repository, in MinIO's data directory for one on MinIO.
func storedSize(t tool, repo string) (int64, error) {
	if o, ok := t.(onMinIO); ok {
		return o.repoSize(repo)
	}
	return dirSize(repo)
}
