package volumeclaims

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func template(name string) corev1.PersistentVolumeClaimTemplate {
	return corev1.PersistentVolumeClaimTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"replica": "r-${POD_ORDINAL}"}},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr("cairn-csi"),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			DataSourceRef:    &corev1.TypedObjectReference{APIGroup: ptr("snapshot.storage.k8s.io"), Kind: "VolumeSnapshot", Name: "data-db-${POD_ORDINAL}-1700000000"},
		},
	}
}

func ptr[T any](v T) *T { return &v }

func TestRenderFillsTheOrdinal(t *testing.T) {
	tpls := []corev1.PersistentVolumeClaimTemplate{template("data-restored-${POD_ORDINAL}")}
	claims, err := Render("ns", tpls, ptr(int32(2)))
	if err != nil {
		t.Fatal(err)
	}
	if len(claims) != 1 {
		t.Fatalf("%d claims, want 1", len(claims))
	}
	c := claims[0]
	if c.Name != "data-restored-2" || c.Namespace != "ns" || c.Labels["replica"] != "r-2" || c.Spec.DataSourceRef.Name != "data-db-2-1700000000" {
		t.Errorf("rendered %s/%s labels %v source %s", c.Namespace, c.Name, c.Labels, c.Spec.DataSourceRef.Name)
	}
	if got := c.Spec.Resources.Requests.Storage().String(); got != "1Gi" || *c.Spec.StorageClassName != "cairn-csi" {
		t.Errorf("size %s class %s, want the template's", got, *c.Spec.StorageClassName)
	}
	if tpls[0].Name != "data-restored-${POD_ORDINAL}" || tpls[0].Spec.DataSourceRef.Name != "data-db-${POD_ORDINAL}-1700000000" {
		t.Error("Render changed its input")
	}
}

func TestRenderErrors(t *testing.T) {
	noModes := template("plain")
	noModes.Spec.AccessModes = nil
	cases := []struct {
		name    string
		tpls    []corev1.PersistentVolumeClaimTemplate
		ordinal *int32
		want    string
	}{
		{"ordinal without replicas", []corev1.PersistentVolumeClaimTemplate{template("data-${POD_ORDINAL}")}, nil, "${POD_ORDINAL} is only known"},
		{"invalid name", []corev1.PersistentVolumeClaimTemplate{template("Data_${POD_ORDINAL}")}, ptr(int32(0)), "is not a valid claim name"},
		{"unknown variable", []corev1.PersistentVolumeClaimTemplate{template("data-${REPLICA}")}, ptr(int32(0)), `"REPLICA" has no value`},
		{"duplicate", []corev1.PersistentVolumeClaimTemplate{template("same"), template("same")}, ptr(int32(0)), "named by two templates"},
		{"no name", []corev1.PersistentVolumeClaimTemplate{template("")}, ptr(int32(0)), "metadata.name is required"},
		{"no access modes", []corev1.PersistentVolumeClaimTemplate{noModes}, ptr(int32(0)), "spec.accessModes is required"},
	}
	for _, tc := range cases {
		_, err := Render("ns", tc.tpls, tc.ordinal)
		var te *TemplateError
		if !errors.As(err, &te) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want a TemplateError containing %q", tc.name, err, tc.want)
		}
	}
}

func TestUsesOrdinalAndOrdinal(t *testing.T) {
	if !UsesOrdinal([]corev1.PersistentVolumeClaimTemplate{template("a-${POD_ORDINAL}")}) {
		t.Error("a name with ${POD_ORDINAL} uses the ordinal")
	}
	plain := template("a")
	plain.Spec.DataSourceRef.Name = "snap"
	if UsesOrdinal([]corev1.PersistentVolumeClaimTemplate{plain}) {
		t.Error("a template without ${POD_ORDINAL} does not use it")
	}
	for comp, want := range map[string]int32{"dump-pod-0": 0, "volumesnapshot-pod-12": 12} {
		if got, ok := Ordinal(comp); !ok || got != want {
			t.Errorf("Ordinal(%q) = %d, %v", comp, got, ok)
		}
	}
	for _, comp := range []string{"dump", "volumesnapshot", "dump-pod-", "dump-pod-x", "dump-pod--1"} {
		if _, ok := Ordinal(comp); ok {
			t.Errorf("Ordinal(%q) found an ordinal", comp)
		}
	}
}

func TestCreateNeverOverwrites(t *testing.T) {
	ctx := context.Background()
	users := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "taken"}}
	other := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "other",
		Annotations: map[string]string{CreatedByAnnotation: "ns/old-restore"}}}
	kube := fake.NewClientset(users, other)
	pvcs := kube.CoreV1().PersistentVolumeClaims("ns")
	claims, err := Render("ns", []corev1.PersistentVolumeClaimTemplate{template("fresh-${POD_ORDINAL}"), template("taken"), template("other")}, ptr(int32(0)))
	if err != nil {
		t.Fatal(err)
	}
	created, err := Create(ctx, pvcs, claims[0], "ns/rs", "test")
	if err != nil || created.Annotations[CreatedByAnnotation] != "ns/rs" {
		t.Fatalf("create: %v, annotations %v", err, created)
	}
	again, err := Create(ctx, pvcs, claims[0], "ns/rs", "test")
	if err != nil || again.Name != "fresh-0" {
		t.Errorf("a retried create of the restore's own claim: %v", err)
	}
	for _, c := range claims[1:] {
		_, err = Create(ctx, pvcs, c, "ns/rs", "test")
		var ee *ExistsError
		if !errors.As(err, &ee) || ee.Name != c.Name || !strings.Contains(err.Error(), "ns/"+c.Name+" already exists") {
			t.Errorf("existing claim %s: error %v, want an ExistsError naming it", c.Name, err)
		}
	}
	if got, _ := pvcs.Get(ctx, "taken", metav1.GetOptions{}); len(got.Annotations) != 0 || got.Spec.DataSourceRef != nil {
		t.Errorf("the user's claim was changed: %+v", got)
	}
	if _, err := Create(ctx, pvcs, claims[1], "ns/old-restore", "test"); err == nil {
		t.Error("a claim without the marker is never taken as a restore's own")
	}
}

func TestClassAndBindsImmediately(t *testing.T) {
	ctx := context.Background()
	wait := storagev1.VolumeBindingWaitForFirstConsumer
	kube := fake.NewClientset(
		&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "local-path", Annotations: map[string]string{DefaultClassAnnotation: "true"}}, VolumeBindingMode: &wait},
		&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "cairn-csi"}},
	)
	classes := kube.StorageV1().StorageClasses()
	claim := func(class *string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: class}}
	}
	sc, err := Class(ctx, classes, claim(ptr("cairn-csi")))
	if err != nil || sc.Name != "cairn-csi" || !BindsImmediately(sc) {
		t.Errorf("named class: %v %v", sc, err)
	}
	sc, err = Class(ctx, classes, claim(nil))
	if err != nil || sc.Name != "local-path" || BindsImmediately(sc) {
		t.Errorf("default class: %v %v", sc, err)
	}
	if sc, err = Class(ctx, classes, claim(ptr(""))); sc != nil || err != nil || BindsImmediately(sc) {
		t.Errorf("static binding: %v %v", sc, err)
	}
	_, err = Class(ctx, classes, claim(ptr("missing")))
	var ne *NoClassError
	if !errors.As(err, &ne) || !strings.Contains(err.Error(), `StorageClass "missing"`) {
		t.Errorf("missing class: %v", err)
	}
	_, err = Class(ctx, fake.NewClientset().StorageV1().StorageClasses(), claim(nil))
	if !errors.As(err, &ne) || !strings.Contains(err.Error(), "no default StorageClass") {
		t.Errorf("no default: %v", err)
	}
}

func TestWaitBound(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset(&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c"}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}})
	gets := 0
	kube.PrependReactor("get", "persistentvolumeclaims", func(a k8stesting.Action) (bool, runtime.Object, error) {
		gets++
		if gets == 3 {
			return true, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c"}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}}, nil
		}
		return false, nil, nil
	})
	pvc, err := WaitBound(ctx, kube.CoreV1().PersistentVolumeClaims("ns"), "c", time.Millisecond)
	if err != nil || pvc.Status.Phase != corev1.ClaimBound || gets != 3 {
		t.Fatalf("WaitBound: %v after %d reads", err, gets)
	}

	pending := fake.NewClientset(&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c"}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}})
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err = WaitBound(short, pending.CoreV1().PersistentVolumeClaims("ns"), "c", time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "PersistentVolumeClaim c is still Pending") || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: %v", err)
	}

	lost := fake.NewClientset(&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c"}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimLost}})
	_, err = WaitBound(ctx, lost.CoreV1().PersistentVolumeClaims("ns"), "c", time.Millisecond)
	var le *LostError
	if !errors.As(err, &le) {
		t.Errorf("lost: %v", err)
	}
	_, err = WaitBound(ctx, fake.NewClientset().CoreV1().PersistentVolumeClaims("ns"), "gone", time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "was deleted") {
		t.Errorf("deleted: %v", err)
	}
}
