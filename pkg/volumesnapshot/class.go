// Package volumesnapshot takes and restores CSI VolumeSnapshots for the
// `volume-snapshot` and `volume-snapshot-restore` tasks: which
// VolumeSnapshotClass a claim is snapshotted with, the volume-snapshotter
// runner that creates one VolumeSnapshot per claim and waits until the
// storage system has it, and the restore runner that creates claims whose
// dataSourceRef is one of those VolumeSnapshots. The runners report into
// the Snapshot's or RestoreSession's status.components, as the data-mover
// runner (pkg/runner) does.
package volumesnapshot

import (
	"context"
	"fmt"
	"sort"
	"strings"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	snapclient "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// DefaultClassAnnotation marks the default VolumeSnapshotClass of a driver.
const DefaultClassAnnotation = "snapshot.storage.kubernetes.io/is-default-class"

// ClaimError is a claim that cannot be snapshotted as the task asks: the
// component fails with it, and only a change to the cluster or the task
// (a class, a CSI driver) helps.
type ClaimError struct {
	// Claim is the PersistentVolumeClaim.
	Claim string
	// Msg says what is wrong and what to change.
	Msg string
}

func (e *ClaimError) Error() string {
	return fmt.Sprintf("PersistentVolumeClaim %s: %s", e.Claim, e.Msg)
}

// Claim is one PVC to snapshot and the VolumeSnapshotClass to use.
type Claim struct {
	// PVC is the claim's name.
	PVC string
	// Class is the VolumeSnapshotClass.
	Class string
}

// Driver is the CSI driver that serves claim: its bound volume's
// spec.csi.driver, or for a claim not bound yet the provisioner of its
// StorageClass. pv and class may be nil when they do not exist. A volume
// that is not a CSI volume cannot be snapshotted through the VolumeSnapshot
// API: a *ClaimError says so.
func Driver(claim *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume, class string, provisioner string) (string, error) {
	if pv != nil {
		if pv.Spec.CSI == nil {
			return "", &ClaimError{Claim: claim.Name, Msg: fmt.Sprintf("its volume %s is not a CSI volume (StorageClass %q): only volumes of a CSI driver with snapshot support can be snapshotted; back it up with the logical-backup task instead", pv.Name, class)}
		}
		return pv.Spec.CSI.Driver, nil
	}
	if provisioner == "" {
		return "", &ClaimError{Claim: claim.Name, Msg: fmt.Sprintf("it is not bound and its StorageClass %q does not exist, so its CSI driver is unknown", class)}
	}
	return provisioner, nil
}

// ChooseClass picks the VolumeSnapshotClass for a claim served by driver:
// the requested one (which must exist and belong to driver), else the
// driver's default class (annotated DefaultClassAnnotation; exactly one).
func ChooseClass(claim, driver, requested string, classes []snapv1.VolumeSnapshotClass) (string, error) {
	var forDriver, defaults []string
	for _, c := range classes {
		if c.Name == requested {
			if c.Driver != driver {
				return "", &ClaimError{Claim: claim, Msg: fmt.Sprintf("VolumeSnapshotClass %s is for driver %s, but the claim's volume is served by %s", c.Name, c.Driver, driver)}
			}
			return c.Name, nil
		}
		if c.Driver == driver {
			forDriver = append(forDriver, c.Name)
			if c.Annotations[DefaultClassAnnotation] == "true" {
				defaults = append(defaults, c.Name)
			}
		}
	}
	sort.Strings(forDriver)
	sort.Strings(defaults)
	switch {
	case requested != "":
		return "", &ClaimError{Claim: claim, Msg: fmt.Sprintf("VolumeSnapshotClass %s (the task's volumeSnapshotClassName) does not exist", requested)}
	case len(defaults) == 1:
		return defaults[0], nil
	case len(defaults) > 1:
		return "", &ClaimError{Claim: claim, Msg: fmt.Sprintf("driver %s has several default VolumeSnapshotClasses (%s): name one in the task's volumeSnapshotClassName", driver, strings.Join(defaults, ", "))}
	case len(forDriver) > 0:
		return "", &ClaimError{Claim: claim, Msg: fmt.Sprintf("driver %s has no default VolumeSnapshotClass: name one of %s in the task's volumeSnapshotClassName", driver, strings.Join(forDriver, ", "))}
	}
	return "", &ClaimError{Claim: claim, Msg: fmt.Sprintf("driver %s has no VolumeSnapshotClass, so its volumes cannot be snapshotted (is its CSI driver one with snapshot support?)", driver)}
}

// Resolve finds the VolumeSnapshotClass of each claim in namespace ns (the
// requested one, or the default of the claim's driver). A claim that does
// not exist or cannot be snapshotted is a *ClaimError; other errors are
// the API's, worth a retry.
func Resolve(ctx context.Context, kube kubernetes.Interface, snaps snapclient.Interface, ns string, claims []string, requested string) ([]Claim, error) {
	classes, err := snaps.SnapshotV1().VolumeSnapshotClasses().List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return nil, &ClaimError{Claim: strings.Join(claims, ", "), Msg: "the cluster has no VolumeSnapshot API (snapshot.storage.k8s.io/v1): install the external-snapshotter's CRDs and snapshot-controller"}
	}
	if err != nil {
		return nil, fmt.Errorf("listing VolumeSnapshotClasses: %w", err)
	}
	out := make([]Claim, 0, len(claims))
	for _, name := range claims {
		pvc, err := kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, &ClaimError{Claim: name, Msg: "it does not exist"}
		}
		if err != nil {
			return nil, fmt.Errorf("reading PersistentVolumeClaim %s: %w", name, err)
		}
		var pv *corev1.PersistentVolume
		if pvc.Spec.VolumeName != "" {
			pv, err = kube.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				pv, err = nil, nil
			}
			if err != nil {
				return nil, fmt.Errorf("reading PersistentVolume %s: %w", pvc.Spec.VolumeName, err)
			}
		}
		class, provisioner := "", ""
		if pvc.Spec.StorageClassName != nil {
			class = *pvc.Spec.StorageClassName
		}
		if pv == nil && class != "" {
			sc, err := kube.StorageV1().StorageClasses().Get(ctx, class, metav1.GetOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("reading StorageClass %s: %w", class, err)
			}
			if err == nil {
				provisioner = sc.Provisioner
			}
		}
		driver, err := Driver(pvc, pv, class, provisioner)
		if err != nil {
			return nil, err
		}
		vsc, err := ChooseClass(name, driver, requested, classes.Items)
		if err != nil {
			return nil, err
		}
		out = append(out, Claim{PVC: name, Class: vsc})
	}
	return out, nil
}
