// Package csi installs volume snapshots into the test cluster: the
// VolumeSnapshot CRDs, snapshot-controller and csi-snapshotter
// (external-snapshotter v8), and Cairn's hostPath CSI driver with its
// provisioner (hack/tools/csi), plus a StorageClass and a default
// VolumeSnapshotClass for it. The controllers run as host processes with
// the admin kubeconfig; the driver registers with the node's kubelet, so
// pods mount its volumes, including claims restored from snapshots.
package csi

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cairnbackup/cairn/test/cluster/addons"
	"github.com/cairnbackup/cairn/test/internal/proc"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Pins and names. SnapshotterVersion must equal SNAPSHOTTER_VERSION in
// hack/mk/storage.mk.
const (
	// SnapshotterVersion is the external-snapshotter release.
	SnapshotterVersion = "v8.7.0"
	// DriverName is the CSI driver (and provisioner) name.
	DriverName = "csi.cairn.local"
	// StorageClass is the StorageClass whose claims the driver serves.
	StorageClass = "cairn-csi"
	// SnapshotClass is the default VolumeSnapshotClass of the driver.
	SnapshotClass = "cairn-csi"
	// DefaultNodeName is the node the harness registers.
	DefaultNodeName = "cairn-node"
)

// Options tune Install; the zero value suits the harness.
type Options struct {
	// ClusterDir is the cluster's state directory. Default: the directory
	// holding the kubeconfig.
	ClusterDir string
	// KubeletDir is the kubelet's --root-dir. Default: <ClusterDir>/kubelet.
	KubeletDir string
	// NodeName is the node the driver serves. Default: DefaultNodeName.
	NodeName string
}

// Install applies the CRDs and classes and starts the driver, the
// provisioner, snapshot-controller and csi-snapshotter. It returns once the
// kubelet has registered the driver on the node. Running it again replaces
// the processes and keeps existing volumes and snapshots.
func Install(ctx context.Context, kubeconfig string, opts Options) error {
	if opts.ClusterDir == "" {
		opts.ClusterDir = filepath.Dir(kubeconfig)
	}
	if opts.KubeletDir == "" {
		opts.KubeletDir = filepath.Join(opts.ClusterDir, "kubelet")
	}
	if opts.NodeName == "" {
		opts.NodeName = DefaultNodeName
	}
	bins, err := findBinaries()
	if err != nil {
		return err
	}
	c, err := addons.NewClient(kubeconfig)
	if err != nil {
		return err
	}
	crds, err := filepath.Glob(filepath.Join(bins.crdDir, "*.yaml"))
	if err != nil || len(crds) == 0 {
		return fmt.Errorf("no snapshot CRDs in %s: run `make tools-storage`", bins.crdDir)
	}
	for _, f := range crds {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := c.Apply(ctx, b); err != nil {
			return fmt.Errorf("snapshot CRD %s: %w", filepath.Base(f), err)
		}
	}
	if err := c.Apply(ctx, []byte(classes)); err != nil {
		return fmt.Errorf("CSI driver classes: %w", err)
	}

	state := filepath.Join(addons.Dir(opts.ClusterDir), "csi")
	socket := filepath.Join(state, "csi.sock")
	procs := []struct {
		name string
		argv []string
	}{
		{"cairn-csi-driver", []string{bins.driver, "--endpoint", socket, "--driver-name", DriverName,
			"--node-id", opts.NodeName, "--state-dir", filepath.Join(state, "data"),
			"--kubelet-registration-dir", filepath.Join(opts.KubeletDir, "plugins_registry")}},
		{"cairn-csi-provisioner", []string{bins.provisioner, "--kubeconfig", kubeconfig, "--csi-address", socket}},
		{"snapshot-controller", []string{bins.controller, "--kubeconfig", kubeconfig, "--leader-election=false"}},
		{"csi-snapshotter", []string{bins.snapshotter, "--kubeconfig", kubeconfig, "--csi-address", socket, "--leader-election=false"}},
	}
	for _, p := range procs {
		if err := addons.StartProcess(opts.ClusterDir, p.name, p.argv...); err != nil {
			return err
		}
	}
	for _, p := range procs {
		if err := addons.StayUp(opts.ClusterDir, p.name, time.Second); err != nil {
			return err
		}
	}
	return waitRegistered(ctx, c, opts.NodeName)
}

// waitRegistered waits until the node's CSINode lists the driver, i.e. the
// kubelet found the registration socket and can mount its volumes.
func waitRegistered(ctx context.Context, c *addons.Client, node string) error {
	kube, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	return proc.Wait(ctx, time.Minute, "kubelet registration of "+DriverName, nil, func(ctx context.Context) (bool, string, error) {
		n, err := kube.StorageV1().CSINodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		for _, d := range n.Spec.Drivers {
			if d.Name == DriverName {
				return true, "", nil
			}
		}
		return false, fmt.Sprintf("CSINode %s lists %d other drivers", node, len(n.Spec.Drivers)), nil
	})
}

// classes are the cluster objects that make the driver usable.
const classes = `apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata:
  name: ` + DriverName + `
spec:
  attachRequired: false
  podInfoOnMount: false
  volumeLifecycleModes: [Persistent]
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: ` + StorageClass + `
provisioner: ` + DriverName + `
reclaimPolicy: Delete
volumeBindingMode: Immediate
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata:
  name: ` + SnapshotClass + `
  annotations:
    snapshot.storage.kubernetes.io/is-default-class: "true"
driver: ` + DriverName + `
deletionPolicy: Delete
`
