//go:build integration

// Package integration holds Cairn's tests against a real local cluster (see
// test/cluster). They carry the `integration` build tag, so `go test ./...`
// stays fast and cluster-free; run them with `make test-integration`.
// Each test takes its own namespace from Cluster.Namespace.
package integration

import (
	"testing"

	"github.com/cairnbackup/cairn/test/cluster"
)

func TestMain(m *testing.M) { cluster.Main(m) }
