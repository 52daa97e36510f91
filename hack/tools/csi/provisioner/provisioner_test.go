package provisioner

import (
	"context"
	"io"
	"log"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/hack/tools/csi/driver"
	"github.com/container-storage-interface/spec/lib/go/csi"
	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	snapfake "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned/fake"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v13/controller"
)

const driverName = "csi.cairn.test"

// newProvisioner serves a real driver on a socket and returns a provisioner
// talking to it, with API objects served by fake clientsets.
func newProvisioner(t *testing.T, kubeObjs, snapObjs []runtime.Object) *Provisioner {
	t.Helper()
	dir := t.TempDir()
	d, err := driver.New(driver.Config{Name: driverName, NodeID: "n", StateDir: filepath.Join(dir, "state"),
		Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "csi.sock")
	if err := d.Serve(sock, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &Provisioner{Driver: driverName, CSI: csi.NewControllerClient(conn),
		Kube: kubefake.NewClientset(kubeObjs...), Snap: snapfake.NewSimpleClientset(snapObjs...)}
}

func claim(name string, modes ...v1.PersistentVolumeAccessMode) *v1.PersistentVolumeClaim {
	return &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Spec: v1.PersistentVolumeClaimSpec{AccessModes: modes, Resources: v1.VolumeResourceRequirements{
			Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Mi")}}},
	}
}

var class = &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Provisioner: driverName}

func TestProvisionAndDelete(t *testing.T) {
	p := newProvisioner(t, nil, nil)
	ctx := context.Background()
	pv, state, err := p.Provision(ctx, controller.ProvisionOptions{StorageClass: class, PVName: "pv-1",
		PVC: claim("data", v1.ReadWriteOnce, v1.ReadWriteMany)})
	if err != nil || state != controller.ProvisioningFinished {
		t.Fatalf("Provision = %v, %v", state, err)
	}
	if pv.Spec.CSI == nil || pv.Spec.CSI.Driver != driverName || pv.Spec.CSI.VolumeHandle == "" {
		t.Fatalf("PV source = %+v; want a CSI volume of %s", pv.Spec.CSI, driverName)
	}
	if got := pv.Spec.Capacity[v1.ResourceStorage]; got.Value() != 1<<20 {
		t.Fatalf("capacity %s, want 1Mi", got.String())
	}
	if pv.Spec.PersistentVolumeReclaimPolicy != v1.PersistentVolumeReclaimDelete || len(pv.Spec.AccessModes) != 2 {
		t.Fatalf("PV spec = %+v", pv.Spec)
	}
	if err := p.Delete(ctx, pv); err != nil {
		t.Fatal(err)
	}
	other := pv.DeepCopy()
	other.Spec.CSI.Driver = "someone.else"
	if err := p.Delete(ctx, other); err == nil {
		t.Fatal("Delete of another driver's volume succeeded; want it ignored with an IgnoredError")
	}
}

func TestProvisionRefusesBadClaims(t *testing.T) {
	p := newProvisioner(t, nil, nil)
	block := v1.PersistentVolumeBlock
	noSize := claim("nosize", v1.ReadWriteOnce)
	noSize.Spec.Resources.Requests = nil
	blockClaim := claim("block", v1.ReadWriteOnce)
	blockClaim.Spec.VolumeMode = &block
	for want, pvc := range map[string]*v1.PersistentVolumeClaim{
		"requests no storage size": noSize,
		"block volume":             blockClaim,
		"no access modes":          claim("nomodes"),
	} {
		_, state, err := p.Provision(context.Background(), controller.ProvisionOptions{StorageClass: class, PVName: "pv", PVC: pvc})
		if err == nil || !strings.Contains(err.Error(), want) || state != controller.ProvisioningFinished {
			t.Errorf("claim %s: %v (%v); want a final error containing %q", pvc.Name, err, state, want)
		}
	}
}

// TestRestoreSourceResolution walks the data-source lookups: a ready
// snapshot of this driver resolves to its handle; not-ready, foreign and
// unsupported sources give errors that say why.
func TestRestoreSourceResolution(t *testing.T) {
	group := snapv1.GroupName
	ready, notReady := true, false
	content, handle, foreignContent := "content-1", "snap-handle-1", "content-2"
	snaps := []runtime.Object{
		&snapv1.VolumeSnapshot{ObjectMeta: metav1.ObjectMeta{Name: "ready", Namespace: "ns"},
			Status: &snapv1.VolumeSnapshotStatus{ReadyToUse: &ready, BoundVolumeSnapshotContentName: &content}},
		&snapv1.VolumeSnapshot{ObjectMeta: metav1.ObjectMeta{Name: "pending", Namespace: "ns"},
			Status: &snapv1.VolumeSnapshotStatus{ReadyToUse: &notReady}},
		&snapv1.VolumeSnapshot{ObjectMeta: metav1.ObjectMeta{Name: "foreign", Namespace: "ns"},
			Status: &snapv1.VolumeSnapshotStatus{ReadyToUse: &ready, BoundVolumeSnapshotContentName: &foreignContent}},
		&snapv1.VolumeSnapshotContent{ObjectMeta: metav1.ObjectMeta{Name: content},
			Spec: snapv1.VolumeSnapshotContentSpec{Driver: driverName}, Status: &snapv1.VolumeSnapshotContentStatus{SnapshotHandle: &handle}},
		&snapv1.VolumeSnapshotContent{ObjectMeta: metav1.ObjectMeta{Name: foreignContent},
			Spec: snapv1.VolumeSnapshotContentSpec{Driver: "other.driver"}, Status: &snapv1.VolumeSnapshotContentStatus{SnapshotHandle: &handle}},
	}
	p := newProvisioner(t, nil, snaps)
	withSource := func(kind, name string, apiGroup *string) *v1.PersistentVolumeClaim {
		c := claim("restore", v1.ReadWriteOnce)
		c.Spec.DataSource = &v1.TypedLocalObjectReference{APIGroup: apiGroup, Kind: kind, Name: name}
		return c
	}
	src, err := p.contentSource(context.Background(), withSource("VolumeSnapshot", "ready", &group))
	if err != nil || src.GetSnapshot().GetSnapshotId() != handle {
		t.Fatalf("ready snapshot: %v, %v; want handle %s", src, err, handle)
	}
	for want, pvc := range map[string]*v1.PersistentVolumeClaim{
		"not ready to use yet":           withSource("VolumeSnapshot", "pending", &group),
		"belongs to driver other.driver": withSource("VolumeSnapshot", "foreign", &group),
		"not found":                      withSource("VolumeSnapshot", "missing", &group),
		"is not supported":               withSource("ConfigMap", "x", nil),
		"data source claim ns/absent":    withSource("PersistentVolumeClaim", "absent", nil),
	} {
		if _, err := p.contentSource(context.Background(), pvc); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("source %s/%s: %v; want an error containing %q", pvc.Spec.DataSource.Kind, pvc.Spec.DataSource.Name, err, want)
		}
	}
	// A missing snapshot handle in the driver fails CreateVolume, which the
	// controller retries in the background rather than giving up.
	_, state, err := p.Provision(context.Background(), controller.ProvisionOptions{StorageClass: class, PVName: "pv-r",
		PVC: withSource("VolumeSnapshot", "ready", &group)})
	if err == nil || state != controller.ProvisioningInBackground {
		t.Fatalf("restore from an unknown driver snapshot: %v (%v); want a retryable error", err, state)
	}
}
