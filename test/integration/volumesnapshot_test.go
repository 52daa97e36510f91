//go:build integration

package integration

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/cairnbackup/cairn/test/cluster"
	"github.com/cairnbackup/cairn/test/cluster/addons/csi"
	"github.com/cairnbackup/cairn/test/e2e"
)

// snapshotEnv is the shared e2e stories' view of the local cluster: the
// configEnv namespace (MinIO as its default BackupStorage, the password
// Secret) and the project's CSI driver with its default VolumeSnapshotClass.
func snapshotEnv(ctx context.Context, t *testing.T) *e2e.Env {
	t.Helper()
	ce := newConfigEnv(ctx, t)
	env := &e2e.Env{Namespace: ce.ns, StorageClass: csi.StorageClass, SnapshotClass: csi.SnapshotClass, Storage: "minio", PasswordSecret: "password",
		ShellImage: cluster.BusyboxImage, PullPolicy: corev1.PullNever, Diagnose: ce.c.Diagnose}
	if err := env.Clients(ce.c.RESTConfig()); err != nil {
		t.Fatal(err)
	}
	return env
}

// TestVolumeSnapshotStatefulSet: see e2e.VolumeSnapshotStatefulSet.
func TestVolumeSnapshotStatefulSet(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	e2e.VolumeSnapshotStatefulSet(ctx, t, snapshotEnv(ctx, t))
}

// TestVolumeSnapshotErrors: see e2e.VolumeSnapshotErrors (local-path is
// the cluster's non-CSI class).
func TestVolumeSnapshotErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	e2e.VolumeSnapshotErrors(ctx, t, snapshotEnv(ctx, t), "local-path")
}

// TestVolumeSnapshotRetention: see e2e.VolumeSnapshotRetention.
func TestVolumeSnapshotRetention(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	e2e.VolumeSnapshotRetention(ctx, t, snapshotEnv(ctx, t))
}

// TestVolumeSnapshotExport: see e2e.VolumeSnapshotExport.
func TestVolumeSnapshotExport(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	e2e.VolumeSnapshotExport(ctx, t, snapshotEnv(ctx, t))
}
