// Package provisioner turns PersistentVolumeClaims of a CSI StorageClass
// into CSI CreateVolume calls, including claims restored from a
// VolumeSnapshot or cloned from another claim. It does for the test cluster
// what kubernetes-csi/external-provisioner does in a real one (that module
// is not available here), on top of sig-storage-lib-external-provisioner.
package provisioner

import (
	"context"
	"errors"
	"fmt"

	"github.com/container-storage-interface/spec/lib/go/csi"
	snapclient "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v13/controller"
)

// snapshotGroup is the API group of VolumeSnapshot data sources.
const snapshotGroup = "snapshot.storage.k8s.io"

// Provisioner implements controller.Provisioner for one CSI driver.
type Provisioner struct {
	// Driver is the CSI driver name (the StorageClass provisioner).
	Driver string
	// CSI is the driver's controller service.
	CSI csi.ControllerClient
	// Kube reads source claims and volumes.
	Kube kubernetes.Interface
	// Snap reads VolumeSnapshots and their contents.
	Snap snapclient.Interface
}

var _ controller.Provisioner = (*Provisioner)(nil)

// Provision creates the CSI volume for opts.PVC and returns its PV.
func (p *Provisioner) Provision(ctx context.Context, opts controller.ProvisionOptions) (*v1.PersistentVolume, controller.ProvisioningState, error) {
	pvc := opts.PVC
	size, ok := pvc.Spec.Resources.Requests[v1.ResourceStorage]
	if !ok || size.Sign() <= 0 {
		return nil, controller.ProvisioningFinished, fmt.Errorf("claim %s/%s requests no storage size: set spec.resources.requests.storage", pvc.Namespace, pvc.Name)
	}
	caps, err := capabilities(pvc)
	if err != nil {
		return nil, controller.ProvisioningFinished, err
	}
	source, err := p.contentSource(ctx, pvc)
	if err != nil {
		// The snapshot may simply not be ready yet: let the controller retry.
		return nil, controller.ProvisioningNoChange, err
	}
	resp, err := p.CSI.CreateVolume(ctx, &csi.CreateVolumeRequest{
		Name:                opts.PVName,
		CapacityRange:       &csi.CapacityRange{RequiredBytes: size.Value()},
		VolumeCapabilities:  caps,
		Parameters:          opts.StorageClass.Parameters,
		VolumeContentSource: source,
	})
	if err != nil {
		return nil, controller.ProvisioningInBackground, fmt.Errorf("CSI CreateVolume for %s/%s: %w", pvc.Namespace, pvc.Name, err)
	}
	reclaim := v1.PersistentVolumeReclaimDelete
	if opts.StorageClass.ReclaimPolicy != nil {
		reclaim = *opts.StorageClass.ReclaimPolicy
	}
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: opts.PVName},
		Spec: v1.PersistentVolumeSpec{
			AccessModes:                   pvc.Spec.AccessModes,
			Capacity:                      v1.ResourceList{v1.ResourceStorage: *resource.NewQuantity(resp.Volume.CapacityBytes, resource.BinarySI)},
			PersistentVolumeReclaimPolicy: reclaim,
			MountOptions:                  opts.StorageClass.MountOptions,
			VolumeMode:                    pvc.Spec.VolumeMode,
			PersistentVolumeSource: v1.PersistentVolumeSource{CSI: &v1.CSIPersistentVolumeSource{
				Driver:       p.Driver,
				VolumeHandle: resp.Volume.VolumeId,
			}},
		},
	}
	return pv, controller.ProvisioningFinished, nil
}

// Delete removes the CSI volume behind pv.
func (p *Provisioner) Delete(ctx context.Context, pv *v1.PersistentVolume) error {
	if pv.Spec.CSI == nil || pv.Spec.CSI.Driver != p.Driver {
		return &controller.IgnoredError{Reason: "not a volume of driver " + p.Driver}
	}
	_, err := p.CSI.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: pv.Spec.CSI.VolumeHandle})
	return err
}

// capabilities maps the claim's access modes to CSI mount capabilities.
func capabilities(pvc *v1.PersistentVolumeClaim) ([]*csi.VolumeCapability, error) {
	if pvc.Spec.VolumeMode != nil && *pvc.Spec.VolumeMode == v1.PersistentVolumeBlock {
		return nil, fmt.Errorf("claim %s/%s asks for a block volume; this driver serves filesystems only", pvc.Namespace, pvc.Name)
	}
	modes := map[v1.PersistentVolumeAccessMode]csi.VolumeCapability_AccessMode_Mode{
		v1.ReadWriteOnce:    csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER,
		v1.ReadWriteOncePod: csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER,
		v1.ReadOnlyMany:     csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY,
		v1.ReadWriteMany:    csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER,
	}
	var caps []*csi.VolumeCapability
	for _, m := range pvc.Spec.AccessModes {
		mode, ok := modes[m]
		if !ok {
			return nil, fmt.Errorf("claim %s/%s: unknown access mode %q", pvc.Namespace, pvc.Name, m)
		}
		caps = append(caps, &csi.VolumeCapability{
			AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{}},
			AccessMode: &csi.VolumeCapability_AccessMode{Mode: mode},
		})
	}
	if len(caps) == 0 {
		return nil, fmt.Errorf("claim %s/%s has no access modes", pvc.Namespace, pvc.Name)
	}
	return caps, nil
}

// contentSource resolves the claim's data source (a VolumeSnapshot or
// another claim of this driver) to a CSI content source.
func (p *Provisioner) contentSource(ctx context.Context, pvc *v1.PersistentVolumeClaim) (*csi.VolumeContentSource, error) {
	ref := pvc.Spec.DataSourceRef
	if ref == nil && pvc.Spec.DataSource != nil {
		ref = &v1.TypedObjectReference{APIGroup: pvc.Spec.DataSource.APIGroup, Kind: pvc.Spec.DataSource.Kind, Name: pvc.Spec.DataSource.Name}
	}
	if ref == nil {
		return nil, nil
	}
	group := ""
	if ref.APIGroup != nil {
		group = *ref.APIGroup
	}
	ns := pvc.Namespace
	if ref.Namespace != nil && *ref.Namespace != "" && *ref.Namespace != ns {
		return nil, fmt.Errorf("claim %s/%s: cross-namespace data sources are not supported", ns, pvc.Name)
	}
	switch {
	case group == snapshotGroup && ref.Kind == "VolumeSnapshot":
		return p.snapshotSource(ctx, ns, ref.Name)
	case group == "" && ref.Kind == "PersistentVolumeClaim":
		return p.cloneSource(ctx, ns, ref.Name)
	}
	return nil, fmt.Errorf("claim %s/%s: data source %s/%s is not supported (use a VolumeSnapshot or a PersistentVolumeClaim)", ns, pvc.Name, group, ref.Kind)
}

// snapshotSource finds the CSI snapshot handle behind a ready VolumeSnapshot.
func (p *Provisioner) snapshotSource(ctx context.Context, ns, name string) (*csi.VolumeContentSource, error) {
	vs, err := p.Snap.SnapshotV1().VolumeSnapshots(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("data source VolumeSnapshot %s/%s: %w", ns, name, err)
	}
	if vs.Status == nil || vs.Status.ReadyToUse == nil || !*vs.Status.ReadyToUse || vs.Status.BoundVolumeSnapshotContentName == nil {
		return nil, fmt.Errorf("data source VolumeSnapshot %s/%s is not ready to use yet", ns, name)
	}
	content, err := p.Snap.SnapshotV1().VolumeSnapshotContents().Get(ctx, *vs.Status.BoundVolumeSnapshotContentName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("VolumeSnapshotContent of %s/%s: %w", ns, name, err)
	}
	if content.Spec.Driver != p.Driver {
		return nil, fmt.Errorf("VolumeSnapshot %s/%s belongs to driver %s, not %s", ns, name, content.Spec.Driver, p.Driver)
	}
	if content.Status == nil || content.Status.SnapshotHandle == nil {
		return nil, errors.New("VolumeSnapshotContent " + content.Name + " has no snapshot handle yet")
	}
	return &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
		Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: *content.Status.SnapshotHandle}}}, nil
}

// cloneSource finds the CSI volume handle behind a bound claim.
func (p *Provisioner) cloneSource(ctx context.Context, ns, name string) (*csi.VolumeContentSource, error) {
	src, err := p.Kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("data source claim %s/%s: %w", ns, name, err)
	}
	if src.Spec.VolumeName == "" {
		return nil, fmt.Errorf("data source claim %s/%s is not bound yet", ns, name)
	}
	pv, err := p.Kube.CoreV1().PersistentVolumes().Get(ctx, src.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("volume of claim %s/%s: %w", ns, name, err)
	}
	if pv.Spec.CSI == nil || pv.Spec.CSI.Driver != p.Driver {
		return nil, fmt.Errorf("data source claim %s/%s is not a %s volume", ns, name, p.Driver)
	}
	return &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{
		Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: pv.Spec.CSI.VolumeHandle}}}, nil
}
