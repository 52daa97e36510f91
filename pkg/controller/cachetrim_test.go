package controller

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

func TestTrimForCacheDropsManagedFieldsOnly(t *testing.T) {
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{
		Name: "data", Namespace: "app", Labels: map[string]string{"a": "b"},
		Annotations:   map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{}"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}},
	}}
	out, err := TrimForCache(pvc)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*corev1.PersistentVolumeClaim)
	if got.ManagedFields != nil {
		t.Errorf("managedFields kept: %v", got.ManagedFields)
	}
	if got.Labels["a"] != "b" || got.Annotations["kubectl.kubernetes.io/last-applied-configuration"] != "{}" {
		t.Errorf("labels or annotations changed: %v %v", got.Labels, got.Annotations)
	}

	tomb := cache.DeletedFinalStateUnknown{Key: "app/data", Obj: pvc}
	if out, err := TrimForCache(tomb); err != nil || out.(cache.DeletedFinalStateUnknown).Key != "app/data" {
		t.Errorf("tombstone = %v, %v; want it unchanged", out, err)
	}
}
