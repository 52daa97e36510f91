package controller

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
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

func TestTrimReadOnlyDropsLastAppliedAndWorkloadStatus(t *testing.T) {
	meta := func() metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: "web", Namespace: "app", Labels: map[string]string{"a": "b"},
			Annotations:   map[string]string{LastAppliedAnnotation: `{"kind":"Deployment"}`, "team": "x"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}
	}
	spec := appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "data"}}}}}
	d := &appsv1.Deployment{ObjectMeta: meta(), Spec: spec, Status: appsv1.DeploymentStatus{Replicas: 3, ReadyReplicas: 2}}
	s := &appsv1.StatefulSet{ObjectMeta: meta(), Status: appsv1.StatefulSetStatus{Replicas: 3}}
	ds := &appsv1.DaemonSet{ObjectMeta: meta(), Status: appsv1.DaemonSetStatus{NumberReady: 1}}
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: meta(), Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}}
	for _, obj := range []metav1.Object{d, s, ds, pvc} {
		if _, err := TrimReadOnly(obj); err != nil {
			t.Fatal(err)
		}
		if _, kept := obj.GetAnnotations()[LastAppliedAnnotation]; kept || obj.GetManagedFields() != nil {
			t.Errorf("%T: last-applied or managedFields kept: %v %v", obj, obj.GetAnnotations(), obj.GetManagedFields())
		}
		if obj.GetAnnotations()["team"] != "x" || obj.GetLabels()["a"] != "b" {
			t.Errorf("%T: other labels or annotations changed: %v %v", obj, obj.GetLabels(), obj.GetAnnotations())
		}
	}
	if !equality.Semantic.DeepEqual(d.Spec, spec) {
		t.Errorf("Deployment spec changed: %+v", d.Spec)
	}
	if d.Status.Replicas != 0 || d.Status.ReadyReplicas != 0 || s.Status.Replicas != 0 || ds.Status.NumberReady != 0 {
		t.Errorf("workload status kept: %+v %+v %+v", d.Status, s.Status, ds.Status)
	}
	if pvc.Status.Phase != corev1.ClaimBound {
		t.Errorf("PVC status dropped: %+v", pvc.Status)
	}

	tomb := cache.DeletedFinalStateUnknown{Key: "app/web", Obj: d}
	if out, err := TrimReadOnly(tomb); err != nil || out.(cache.DeletedFinalStateUnknown).Key != "app/web" {
		t.Errorf("tombstone = %v, %v; want it unchanged", out, err)
	}
}

func TestTrimManagedDropsCronJobTemplateOnly(t *testing.T) {
	last := metav1.Now()
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "app-daily", Namespace: "app", Annotations: map[string]string{"cairn.dev/spec-hash": "abc"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "cairn-operator"}}},
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "trigger", Image: "cairn"}}}}}}},
		Status: batchv1.CronJobStatus{LastScheduleTime: &last},
	}
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "backup"}, Spec: batchv1.JobSpec{
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "runner"}}}}}}
	for _, obj := range []any{cj, job} {
		if _, err := TrimManaged(obj); err != nil {
			t.Fatal(err)
		}
	}
	if !equality.Semantic.DeepEqual(cj.Spec.JobTemplate, batchv1.JobTemplateSpec{}) || cj.ManagedFields != nil {
		t.Errorf("CronJob template or managedFields kept: %+v %v", cj.Spec.JobTemplate, cj.ManagedFields)
	}
	if cj.Spec.Schedule != "0 3 * * *" || cj.Status.LastScheduleTime != &last || cj.Annotations["cairn.dev/spec-hash"] != "abc" {
		t.Errorf("CronJob schedule, status or annotations changed: %+v %+v %v", cj.Spec, cj.Status, cj.Annotations)
	}
	if len(job.Spec.Template.Spec.Containers) != 1 {
		t.Errorf("a Job's template was dropped: %+v", job.Spec)
	}
}
