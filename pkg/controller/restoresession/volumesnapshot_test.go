package restoresession

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	addonsv1alpha1 "github.com/cairnbackup/cairn/pkg/apis/addons/v1alpha1"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/names"
)

// vsSetup: Snapshot "vs" of a 2-replica StatefulSet taken with the
// volume-snapshot task and exported (components volumesnapshot-pod-N and
// dump-pod-N), the pvc-addon's volume-snapshot-restore task, the classes
// "immediate" and "late" (WaitForFirstConsumer), and RestoreSession
// "restore" of it with one template.
func vsSetup(t *testing.T, template corev1.PersistentVolumeClaimTemplate) *fixture {
	k, c := setup("vs", func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.Addon.Tasks = []corev1alpha1.TaskReference{{Name: "volume-snapshot-restore",
			TargetVolumes: &corev1alpha1.TargetVolumeInfo{VolumeClaimTemplates: []corev1.PersistentVolumeClaimTemplate{template}}}}
	})
	snap := snapshot("vs", time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), storagev1alpha1.SnapshotSucceeded, "dump-pod-0", "dump-pod-1")
	for i, n := range []string{"0", "1"} {
		snap.Status.Components["volumesnapshot-pod-"+n] = storagev1alpha1.Component{Phase: storagev1alpha1.ComponentSucceeded,
			VolumeSnapshotterStats: []storagev1alpha1.VolumeSnapshotterStats{{PVCName: "data-db-" + n, VolumeSnapshotName: "data-db-" + n + "-17", RestoreSize: []string{"1Gi", "2Gi"}[i]}}}
	}
	c = append(c, snap, &addonsv1alpha1.Function{ObjectMeta: metav1.ObjectMeta{Name: "cairn-volume-snapshot-restore"}, Spec: addonsv1alpha1.FunctionSpec{
		Image: "${CAIRN_IMAGE}", Command: []string{"/cairn"}, Args: []string{"volume-snapshot-restore", "--restore-session=${RESTORE_SESSION}"}}})
	for _, o := range c {
		if a, ok := o.(*addonsv1alpha1.Addon); ok {
			a.Spec.RestoreTasks = append(a.Spec.RestoreTasks, addonsv1alpha1.Task{Name: "volume-snapshot-restore", Function: "cairn-volume-snapshot-restore",
				Driver: addonsv1alpha1.DriverVolumeSnapshotter})
		}
	}
	late := storagev1.VolumeBindingWaitForFirstConsumer
	k = append(k, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "immediate"}},
		&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "late"}, VolumeBindingMode: &late})
	return newFixture(t, k, c)
}

func vsTemplate(name, class string) corev1.PersistentVolumeClaimTemplate {
	return corev1.PersistentVolumeClaimTemplate{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: &class}}
}

func TestVolumeSnapshotRestoreJobs(t *testing.T) {
	for _, tc := range []struct {
		class, wait string
	}{{"immediate", "restored-0"}, {"late", ""}} {
		f := vsSetup(t, vsTemplate("restored-${POD_ORDINAL}", tc.class))
		rs := f.sync()
		if rs.Status.TotalComponents != 2 || !strings.Contains(condMessage(rs, corev1alpha1.ConditionRestoreJobsCreated), "2 restore Job(s)") {
			t.Fatalf("%s: status %+v (the export's dump components are a logical restore's)", tc.class, rs.Status)
		}
		job, err := f.Kube.BatchV1().Jobs("app").Get(f.Ctx, names.RestoreJob("restore", "volumesnapshot-pod-0"), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		args := strings.Join(job.Spec.Template.Spec.Containers[0].Args, " ")
		want := "volume-snapshot-restore --restore-session=restore --snapshot=vs --component=volumesnapshot-pod-0 --wait-bound=" + tc.wait
		if args != want || len(job.Spec.Template.Spec.Volumes) != 0 {
			t.Errorf("%s: args %q, want %q; volumes %v", tc.class, args, want, job.Spec.Template.Spec.Volumes)
		}
		role, err := f.Kube.RbacV1().Roles("app").Get(f.Ctx, jobs.RunnerServiceAccount("restore", "restore"), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rules := map[string]string{}
		for _, r := range role.Rules {
			rules[r.Resources[0]+" "+strings.Join(r.Verbs, ",")] = strings.Join(r.ResourceNames, ",")
		}
		if rules["persistentvolumeclaims create"] != "" || rules["persistentvolumeclaims get"] != "restored-0,restored-1" ||
			rules["volumesnapshots get"] != "data-db-0-17,data-db-1-17" {
			t.Errorf("%s: runner rules %v", tc.class, rules)
		}
	}
}

func TestVolumeSnapshotRestoreRefusesTemplatesThatCannotWork(t *testing.T) {
	for _, tc := range []struct {
		tpl  corev1.PersistentVolumeClaimTemplate
		want string
	}{
		{vsTemplate("restored", "immediate"), "claim restored would be restored for both components volumesnapshot-pod-0 and volumesnapshot-pod-1"},
		{vsTemplate("restored-${POD_ORDINAL}", "missing"), `StorageClass "missing" of PersistentVolumeClaim restored-0 does not exist`},
		{vsTemplate("Bad_${POD_ORDINAL}", "immediate"), "is not a valid claim name"},
	} {
		f := vsSetup(t, tc.tpl)
		rs := f.sync()
		if msg := condMessage(rs, corev1alpha1.ConditionRestoreJobsCreated); !strings.Contains(msg, tc.want) {
			t.Errorf("condition %q, want %q", msg, tc.want)
		}
		if list, _ := f.Kube.BatchV1().Jobs("app").List(f.Ctx, metav1.ListOptions{}); len(list.Items) != 0 {
			t.Errorf("%s: Jobs created for a restore that cannot work", tc.want)
		}
	}
}
