//go:build integration

package integration

import (
	"context"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/test/cluster"
	"github.com/cairnbackup/cairn/test/objstore"
	"github.com/cairnbackup/cairn/test/scenario"
)

// TestEngineBackupRestoreInCluster runs the data engine where it will run in
// production: in non-root Jobs on a real node, reading and writing
// dynamically provisioned volumes, talking to MinIO over the pod network
// (see scenario.EngineRoundTrip). The restore Job fails unless the restored
// tree equals the source byte for byte.
func TestEngineBackupRestoreInCluster(t *testing.T) {
	c := cluster.Shared(t)
	ns := c.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	minio, err := objstore.StartMinIO(ctx, cluster.BridgeIP()+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = minio.Stop() })
	const bucket = "engine"
	if err := minio.CreateBucket(ctx, bucket); err != nil {
		t.Fatal(err)
	}
	if err := scenario.EngineRoundTrip(ctx, c, ns, minio, bucket, t.TempDir(), t.Logf); err != nil {
		t.Fatal(err)
	}
}
