package volumesnapshot

import (
	"context"
	"errors"
	"strings"
	"testing"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	snapfake "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sfake "k8s.io/client-go/kubernetes/fake"
)

func class(name, driver string, isDefault bool) snapv1.VolumeSnapshotClass {
	c := snapv1.VolumeSnapshotClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Driver: driver, DeletionPolicy: snapv1.VolumeSnapshotContentDelete}
	if isDefault {
		c.Annotations = map[string]string{DefaultClassAnnotation: "true"}
	}
	return c
}

func TestChooseClass(t *testing.T) {
	classes := []snapv1.VolumeSnapshotClass{
		class("csi-default", "csi.a", true), class("csi-other", "csi.a", false),
		class("b-one", "csi.b", false), class("b-two", "csi.b", false),
		class("c-1", "csi.c", true), class("c-2", "csi.c", true),
	}
	cases := []struct {
		driver, requested, want, err string
	}{
		{driver: "csi.a", want: "csi-default"},
		{driver: "csi.a", requested: "csi-other", want: "csi-other"},
		{driver: "csi.a", requested: "nope", err: "VolumeSnapshotClass nope (the task's volumeSnapshotClassName) does not exist"},
		{driver: "csi.a", requested: "b-one", err: "VolumeSnapshotClass b-one is for driver csi.b, but the claim's volume is served by csi.a"},
		{driver: "csi.b", err: "driver csi.b has no default VolumeSnapshotClass: name one of b-one, b-two"},
		{driver: "csi.c", err: "driver csi.c has several default VolumeSnapshotClasses (c-1, c-2)"},
		{driver: "rancher.io/local-path", err: "driver rancher.io/local-path has no VolumeSnapshotClass"},
	}
	for _, tc := range cases {
		got, err := ChooseClass("data", tc.driver, tc.requested, classes)
		var ce *ClaimError
		switch {
		case tc.err != "" && (!errors.As(err, &ce) || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "PersistentVolumeClaim data: ")):
			t.Errorf("%s/%q: error %v, want a ClaimError with %q", tc.driver, tc.requested, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%s/%q = %q, %v; want %q", tc.driver, tc.requested, got, err, tc.want)
		}
	}
}

func TestResolveFindsTheDriverOfEachClaim(t *testing.T) {
	ctx := context.Background()
	sc := func(name string) *string { return &name }
	kube := k8sfake.NewClientset(
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "bound"}, Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: sc("fast"), VolumeName: "pv-1"}},
		&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-1"}, Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "csi.a"}}}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "pending"}, Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: sc("fast")}},
		&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fast"}, Provisioner: "csi.a"},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "hostpath"}, Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: sc("local-path"), VolumeName: "pv-2"}},
		&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-2"}, Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/x"}}}},
	)
	a := class("csi-default", "csi.a", true)
	snaps := snapfake.NewSimpleClientset(&a)
	got, err := Resolve(ctx, kube, snaps, "ns", []string{"bound", "pending"}, "")
	if err != nil || len(got) != 2 || got[0] != (Claim{PVC: "bound", Class: "csi-default"}) || got[1] != (Claim{PVC: "pending", Class: "csi-default"}) {
		t.Fatalf("Resolve = %v, %v", got, err)
	}
	for claim, want := range map[string]string{
		"hostpath": "its volume pv-2 is not a CSI volume (StorageClass \"local-path\")",
		"missing":  "PersistentVolumeClaim missing: it does not exist",
	} {
		_, err := Resolve(ctx, kube, snaps, "ns", []string{claim}, "")
		var ce *ClaimError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", claim, err, want)
		}
	}
}
