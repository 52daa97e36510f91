package restoresession

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/names"
	"github.com/cairnbackup/cairn/pkg/volumeclaims"
)

func template(name string) corev1.PersistentVolumeClaimTemplate {
	return corev1.PersistentVolumeClaimTemplate{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeClaimSpec{
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
}

// A StatefulSet "db" scaled to zero whose claims are gone, a Snapshot
// "dr" of its two replicas (path /var/db), and RestoreSession "restore"
// with volumeClaimTemplates.
func drSetup(tv *corev1alpha1.TargetVolumeInfo, kube ...runtime.Object) ([]runtime.Object, []runtime.Object) {
	_, c := setup("dr", func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.Target = &common.TypedObjectReference{APIGroup: "apps", Kind: "StatefulSet", Name: "db"}
		rs.Spec.Addon.Tasks[0].TargetVolumes = tv
	})
	snap := snapshot("dr", time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), storagev1alpha1.SnapshotSucceeded)
	for _, comp := range []string{"dump-pod-0", "dump-pod-1"} {
		snap.Status.Components[comp] = storagev1alpha1.Component{Phase: storagev1alpha1.ComponentSucceeded, Path: "/var/db"}
	}
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "db"}, Spec: appsv1.StatefulSetSpec{Replicas: ptr(int32(0)),
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{RunAsUser: ptr(int64(999)), FSGroup: ptr(int64(999))}}}}}
	return append(kube, sts), append(c, snap)
}

func TestClaimsFromTemplatesAreCreatedThenFilled(t *testing.T) {
	k, c := drSetup(&corev1alpha1.TargetVolumeInfo{VolumeClaimTemplates: []corev1.PersistentVolumeClaimTemplate{template("data-db-${POD_ORDINAL}")}})
	f := newFixture(t, k, c)
	rs := f.sync()
	if !common.IsTrue(rs.Status.Conditions, corev1alpha1.ConditionRestoreJobsCreated) {
		t.Fatalf("conditions %+v", rs.Status.Conditions)
	}
	for i, comp := range []string{"dump-pod-0", "dump-pod-1"} {
		claim := "data-db-" + string(rune('0'+i))
		pvc, err := f.Kube.CoreV1().PersistentVolumeClaims("app").Get(f.Ctx, claim, metav1.GetOptions{})
		if err != nil || pvc.Annotations[volumeclaims.CreatedByAnnotation] != "app/restore" || len(pvc.OwnerReferences) != 0 {
			t.Fatalf("claim %s: %+v, %v; want it created, marked, and owned by nobody (it outlives the restore)", claim, pvc, err)
		}
		job, err := f.Kube.BatchV1().Jobs("app").Get(f.Ctx, names.RestoreJob("restore", comp), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		spec := job.Spec.Template.Spec
		var mounted string
		for _, v := range spec.Volumes {
			if v.PersistentVolumeClaim != nil {
				mounted = v.PersistentVolumeClaim.ClaimName
			}
		}
		m := spec.Containers[0].VolumeMounts
		if mounted != claim || m[len(m)-1].MountPath != "/var/db" || m[len(m)-1].ReadOnly || *spec.SecurityContext.RunAsUser != 999 {
			t.Fatalf("Job of %s mounts %q at %+v as %+v; want %s read-write at /var/db as the StatefulSet's user", comp, mounted, m, spec.SecurityContext, claim)
		}
	}
	// A retried start (a restart) recognises its own claims.
	f.Refresh()
	_, claims, err := f.c.components(f.Ctx, rs, &source{snapshot: f.snapshot("dr"), components: []string{"dump-pod-0", "dump-pod-1"}}, *rs.Spec.Target)
	if err != nil || len(claims) != 2 {
		t.Fatalf("%d claims, %v", len(claims), err)
	}
	if msg, err := f.c.ensureClaims(f.Ctx, rs, claims); msg != "" || err != nil {
		t.Fatalf("a retried restore refused its own claims: %q, %v", msg, err)
	}
}

func (f *fixture) snapshot(name string) *storagev1alpha1.Snapshot {
	s, err := f.Cairn.StorageV1alpha1().Snapshots("app").Get(f.Ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func TestClaimTemplatesThatCannotWorkSayWhy(t *testing.T) {
	userClaim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "data-db-1"}}
	cases := []struct {
		name string
		tv   *corev1alpha1.TargetVolumeInfo
		kube []runtime.Object
		msg  string
	}{
		{"a claim exists", &corev1alpha1.TargetVolumeInfo{VolumeClaimTemplates: []corev1.PersistentVolumeClaimTemplate{template("data-db-${POD_ORDINAL}")}},
			[]runtime.Object{userClaim}, "PersistentVolumeClaim app/data-db-1 already exists: it is never overwritten"},
		{"two templates, no mounts", &corev1alpha1.TargetVolumeInfo{VolumeClaimTemplates: []corev1.PersistentVolumeClaimTemplate{
			template("data-db-${POD_ORDINAL}"), template("logs-db-${POD_ORDINAL}")}}, nil, `say where the claim of volumeClaimTemplate "data-db-${POD_ORDINAL}" is mounted`},
		{"a bad name", &corev1alpha1.TargetVolumeInfo{VolumeClaimTemplates: []corev1.PersistentVolumeClaimTemplate{template("Data_${POD_ORDINAL}")}},
			nil, "is not a valid claim name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, c := drSetup(tc.tv, tc.kube...)
			f := newFixture(t, k, c)
			rs := f.sync()
			if rs.Status.Phase != corev1alpha1.RestoreFailed || !strings.Contains(condMessage(rs, corev1alpha1.ConditionRestoreJobsCreated), tc.msg) {
				t.Fatalf("phase %s, conditions %+v; want Failed saying %q", rs.Status.Phase, rs.Status.Conditions, tc.msg)
			}
			if pvcs, _ := f.Kube.CoreV1().PersistentVolumeClaims("app").List(f.Ctx, metav1.ListOptions{}); len(pvcs.Items) != len(tc.kube) || f.jobCount() != 0 {
				t.Fatalf("%d claims, %d Jobs: a restore that cannot work must create neither", len(pvcs.Items), f.jobCount())
			}
		})
	}
}
