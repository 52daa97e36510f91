//go:build integration

package csi_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/test/cluster"
	"github.com/cairnbackup/cairn/test/cluster/addons"
	"github.com/cairnbackup/cairn/test/cluster/addons/addontest"
	"github.com/cairnbackup/cairn/test/cluster/addons/csi"
	"github.com/cairnbackup/cairn/test/internal/proc"
	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	snapclient "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMain(m *testing.M) { cluster.Main(m) }

// TestSnapshotAndRestore writes a file into a CSI volume from a pod, takes
// a VolumeSnapshot, waits until it is readyToUse, restores a new claim from
// it and reads the file back from another pod; a clone of the source
// claim holds the source's newer content.
func TestSnapshotAndRestore(t *testing.T) {
	c := cluster.Shared(t)
	ns := c.Namespace(t)
	kube := c.Client()
	snaps, err := snapclient.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	src := addontest.Claim("source", csi.StorageClass, corev1.ReadWriteOnce)
	if _, err := kube.CoreV1().PersistentVolumeClaims(ns).Create(ctx, src, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := addontest.WaitBound(ctx, kube, ns, "source"); err != nil {
		t.Fatal(err)
	}
	if err := addontest.RunPod(ctx, kube, ns, "writer", "source", "echo cairn-was-here > /data/marker"); err != nil {
		t.Fatal(err)
	}

	class := csi.SnapshotClass
	claim := "source"
	vs := &snapv1.VolumeSnapshot{
		ObjectMeta: metav1.ObjectMeta{Name: "snap"},
		Spec: snapv1.VolumeSnapshotSpec{
			VolumeSnapshotClassName: &class,
			Source:                  snapv1.VolumeSnapshotSource{PersistentVolumeClaimName: &claim},
		},
	}
	if _, err := snaps.SnapshotV1().VolumeSnapshots(ns).Create(ctx, vs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = proc.Wait(ctx, 2*time.Minute, "VolumeSnapshot to become readyToUse", nil, func(ctx context.Context) (bool, string, error) {
		got, err := snaps.SnapshotV1().VolumeSnapshots(ns).Get(ctx, "snap", metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		if got.Status == nil {
			return false, "no status yet", nil
		}
		if got.Status.Error != nil && got.Status.Error.Message != nil {
			return false, "error: " + *got.Status.Error.Message, nil
		}
		ready := got.Status.ReadyToUse != nil && *got.Status.ReadyToUse
		return ready, fmt.Sprintf("readyToUse=%v", ready), nil
	})
	if err != nil {
		t.Fatalf("%v (snapshot-controller log: %s; csi-snapshotter log: %s)", err,
			addons.LogTail(c.Dir(), "snapshot-controller"), addons.LogTail(c.Dir(), "csi-snapshotter"))
	}

	// The source changes after the snapshot; the restore must not see it.
	if err := addontest.RunPod(ctx, kube, ns, "overwriter", "source", "echo changed > /data/marker"); err != nil {
		t.Fatal(err)
	}
	group := snapv1.GroupName
	restored := addontest.Claim("restored", csi.StorageClass, corev1.ReadWriteOnce)
	restored.Spec.DataSource = &corev1.TypedLocalObjectReference{APIGroup: &group, Kind: "VolumeSnapshot", Name: "snap"}
	if _, err := kube.CoreV1().PersistentVolumeClaims(ns).Create(ctx, restored, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := addontest.WaitBound(ctx, kube, ns, "restored"); err != nil {
		t.Fatalf("%v (provisioner log: %s)", err, addons.LogTail(c.Dir(), "cairn-csi-provisioner"))
	}
	if err := addontest.RunPod(ctx, kube, ns, "reader", "restored", `test "$(cat /data/marker)" = cairn-was-here`); err != nil {
		t.Fatalf("restored claim does not hold the snapshot's data: %v", err)
	}

	// A clone of the source claim holds the source's current data.
	clone := addontest.Claim("clone", csi.StorageClass, corev1.ReadWriteOnce)
	clone.Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "source"}
	if _, err := kube.CoreV1().PersistentVolumeClaims(ns).Create(ctx, clone, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := addontest.WaitBound(ctx, kube, ns, "clone"); err != nil {
		t.Fatal(err)
	}
	if err := addontest.RunPod(ctx, kube, ns, "clone-reader", "clone", `test "$(cat /data/marker)" = changed`); err != nil {
		t.Fatalf("cloned claim does not hold the source's data: %v", err)
	}
}
