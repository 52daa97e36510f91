//go:build integration

package localpath_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/test/cluster"
	"github.com/cairnbackup/cairn/test/cluster/addons"
	"github.com/cairnbackup/cairn/test/cluster/addons/addontest"
	"github.com/cairnbackup/cairn/test/cluster/addons/localpath"
	"github.com/cairnbackup/cairn/test/internal/proc"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMain(m *testing.M) { cluster.Main(m) }

// TestReadWriteManyClaim binds a ReadWriteMany claim of the default class,
// lets two pods write to it, finds both files in the volume's host
// directory, and checks the directory is removed with the claim.
func TestReadWriteManyClaim(t *testing.T) {
	c := cluster.Shared(t)
	ns := c.Namespace(t)
	kube := c.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()

	if _, err := kube.CoreV1().PersistentVolumeClaims(ns).Create(ctx,
		addontest.Claim("shared", "", corev1.ReadWriteMany), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pvc, err := addontest.WaitBound(ctx, kube, ns, "shared")
	if err != nil {
		t.Fatalf("%v (provisioner log: %s)", err, addons.LogTail(c.Dir(), "local-path-provisioner"))
	}
	if got := *pvc.Spec.StorageClassName; got != localpath.StorageClass {
		t.Fatalf("claim without a class got class %q, want the default %q", got, localpath.StorageClass)
	}
	for _, pod := range []string{"one", "two"} {
		if err := addontest.RunPod(ctx, kube, ns, pod, "shared", "echo "+pod+" > /data/"+pod); err != nil {
			t.Fatal(err)
		}
	}
	pv, err := kube.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pv.Spec.HostPath == nil {
		t.Fatalf("volume %s is not a hostPath volume: %+v", pv.Name, pv.Spec.PersistentVolumeSource)
	}
	dir := pv.Spec.HostPath.Path
	if filepath.Dir(dir) != localpath.VolumeDir(c.Dir()) {
		t.Fatalf("volume directory %s is outside %s", dir, localpath.VolumeDir(c.Dir()))
	}
	for _, f := range []string{"one", "two"} {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || string(b) != f+"\n" {
			t.Fatalf("file %s in the volume = %q, %v", f, b, err)
		}
	}

	for _, pod := range []string{"one", "two"} {
		if err := kube.CoreV1().Pods(ns).Delete(ctx, pod, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := kube.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, "shared", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err = proc.Wait(ctx, 2*time.Minute, "volume directory removal", nil, func(context.Context) (bool, string, error) {
		_, err := os.Stat(dir)
		return errors.Is(err, os.ErrNotExist), "still present", nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
