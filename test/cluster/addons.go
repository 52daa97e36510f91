package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/test/cluster/addons"
	"github.com/cairnbackup/cairn/test/cluster/addons/csi"
	"github.com/cairnbackup/cairn/test/cluster/addons/localpath"
)

// installAddons deploys the storage add-ons into a fresh cluster: first the
// local-path provisioner (the default StorageClass "local-path", dynamic
// hostPath volumes including ReadWriteMany), then the CSI pieces (snapshot
// CRDs and controller, the cairn-csi driver with csi-snapshotter, and the
// "cairn-csi" StorageClass and VolumeSnapshotClass). The CSI installer waits
// for the kubelet to register the driver, so it runs once the node is Ready.
func installAddons(ctx context.Context, c *Cluster, logf func(string, ...any)) error {
	start := time.Now()
	if err := localpath.Install(ctx, c.Kubeconfig(), localpath.Options{ClusterDir: c.Dir(), HelperImage: BusyboxImage}); err != nil {
		return fmt.Errorf("install the local-path add-on: %w", err)
	}
	logf("installed local-path provisioner (default StorageClass local-path) in %s", time.Since(start).Round(time.Second))
	start = time.Now()
	if err := csi.Install(ctx, c.Kubeconfig(), csi.Options{ClusterDir: c.Dir()}); err != nil {
		return fmt.Errorf("install the CSI add-on: %w", err)
	}
	logf("installed CSI driver, snapshot controller and csi-snapshotter in %s", time.Since(start).Round(time.Second))
	return nil
}

// stopAddons ends the add-ons' host processes (recorded in their own pid
// files) before the node goes away.
func stopAddons(dir string) error {
	if err := addons.StopAll(dir); err != nil {
		return fmt.Errorf("stop the storage add-ons: %w", err)
	}
	return nil
}
