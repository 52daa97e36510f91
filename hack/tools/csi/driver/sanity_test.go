package driver

import (
	"bytes"
	"context"
	"log"
	"os"
	"path/filepath"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/kubernetes-csi/csi-test/v5/pkg/sanity"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// startDriver serves a driver with state in a temporary directory and
// returns its socket path.
func startDriver(t *testing.T) (*Driver, string) {
	t.Helper()
	dir := t.TempDir()
	var logs bytes.Buffer
	d, err := New(Config{Name: "csi.cairn.test", NodeID: "node-1", StateDir: filepath.Join(dir, "state"),
		Logger: log.New(&logs, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "csi.sock")
	if err := d.Serve(sock, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	return d, sock
}

// TestSanity runs the kubernetes-csi conformance suite (csi-sanity) against
// the driver over its real gRPC socket, including node publish bind mounts.
func TestSanity(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("csi-sanity publishes volumes with bind mounts, which needs root")
	}
	_, sock := startDriver(t)
	cfg := sanity.NewTestConfig()
	tmp := t.TempDir()
	cfg.Address = sock
	cfg.TargetPath = filepath.Join(tmp, "target")
	cfg.StagingPath = filepath.Join(tmp, "staging")
	cfg.IdempotentCount = 2
	sanity.Test(t, cfg)
}

// TestSnapshotRestoreKeepsData writes a file into a volume, snapshots it,
// changes the volume, restores a new volume from the snapshot and reads the
// original content back, the path a Cairn VolumeSnapshot backup relies on.
func TestSnapshotRestoreKeepsData(t *testing.T) {
	d, sock := startDriver(t)
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctl := csi.NewControllerClient(conn)
	ctx := context.Background()
	capability := []*csi.VolumeCapability{{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
	}}
	src, err := ctl.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pvc-src", VolumeCapabilities: capability})
	if err != nil {
		t.Fatal(err)
	}
	srcDir := d.store.volumeDir(src.Volume.VolumeId)
	if err := os.MkdirAll(filepath.Join(srcDir, "db"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(srcDir, "db", "rows"), []byte("before"), 0o600); err != nil {
		t.Fatal(err)
	}
	snap, err := ctl.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "snap-1", SourceVolumeId: src.Volume.VolumeId})
	if err != nil {
		t.Fatal(err)
	}
	if !snap.Snapshot.ReadyToUse || snap.Snapshot.SizeBytes != int64(len("before")) {
		t.Fatalf("snapshot = %+v, want ready with 6 bytes", snap.Snapshot)
	}
	if err := os.WriteFile(filepath.Join(srcDir, "db", "rows"), []byte("after"), 0o600); err != nil {
		t.Fatal(err)
	}
	restored, err := ctl.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pvc-restored", VolumeCapabilities: capability,
		VolumeContentSource: &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
			Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: snap.Snapshot.SnapshotId}}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(d.store.volumeDir(restored.Volume.VolumeId), "db", "rows"))
	if err != nil || string(got) != "before" {
		t.Fatalf("restored file = %q, %v; want the snapshot's content %q", got, err, "before")
	}

	// The records survive a driver restart.
	again, err := openStore(d.cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.volumes) != 2 || again.snapshots[snap.Snapshot.SnapshotId] == nil {
		t.Fatalf("reloaded store has %d volumes and snapshots %v; want 2 volumes and the snapshot", len(again.volumes), again.snapshots)
	}
}
