package backupsession

import (
	"strings"
	"testing"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	snapfake "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	addonsv1alpha1 "github.com/cairnbackup/cairn/pkg/apis/addons/v1alpha1"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/names"
	"github.com/cairnbackup/cairn/pkg/volumesnapshot"
)

// vsFixture is setup() with the volume-snapshot task: the PVC "data" is a
// bound CSI volume of csi.test, whose default class is "csi-snap".
func vsFixture(t *testing.T, params map[string]string) (*fixture, *snapfake.Clientset) {
	k, c := setup(func(bc *corev1alpha1.BackupConfiguration) {
		bc.Spec.Sessions[0].Addon.Tasks = []corev1alpha1.TaskReference{{Name: "volume-snapshot", Params: params}}
	})
	pvc := k[0].(*corev1.PersistentVolumeClaim)
	pvc.Spec.VolumeName, pvc.Spec.StorageClassName = "pv-data", ptr("csi")
	pvc.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}
	k = append(k, &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-data"},
		Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "csi.test"}}}})
	for _, o := range c {
		if a, ok := o.(*addonsv1alpha1.Addon); ok {
			a.Spec.BackupTasks = append(a.Spec.BackupTasks, addonsv1alpha1.Task{Name: "volume-snapshot", Function: "cairn-volume-snapshot",
				Driver: addonsv1alpha1.DriverVolumeSnapshotter, Parameters: nil})
		}
	}
	c = append(c, &addonsv1alpha1.Function{ObjectMeta: metav1.ObjectMeta{Name: "cairn-volume-snapshot"}, Spec: addonsv1alpha1.FunctionSpec{
		Image: "${CAIRN_IMAGE}", Command: []string{"/cairn"}, Args: []string{"volume-snapshot", "--backup-session=${BACKUP_SESSION}"}}})
	f := newFixture(t, k, c)
	snaps := snapfake.NewSimpleClientset(&snapv1.VolumeSnapshotClass{ObjectMeta: metav1.ObjectMeta{Name: "csi-snap",
		Annotations: map[string]string{volumesnapshot.DefaultClassAnnotation: "true"}}, Driver: "csi.test"})
	f.c.volumeSnapshots = snaps
	return f, snaps
}

func TestVolumeSnapshotSessionRunsASnapshotterJob(t *testing.T) {
	f, _ := vsFixture(t, nil)
	f.sync("web-daily-1")
	snap := f.snapshot(snapName)
	if snap.Annotations[ComponentsAnnotation] != jobs.ComponentVolumeSnapshot || snap.Status.TotalComponents != 1 {
		t.Fatalf("Snapshot components %q (%d)", snap.Annotations[ComponentsAnnotation], snap.Status.TotalComponents)
	}
	job, err := f.Kube.BatchV1().Jobs("app").Get(f.Ctx, names.BackupJob("web-daily-1", "web-repo", jobs.ComponentVolumeSnapshot), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := job.Spec.Template.Spec
	args := strings.Join(pod.Containers[0].Args, " ")
	want := "volume-snapshot --backup-session=web-daily-1 --snapshot=" + snapName + " --component=volumesnapshot --claims=data:csi-snap"
	if args != want || len(pod.Volumes) != 0 || pod.NodeName != "" {
		t.Fatalf("Job args %q (want %q), volumes %v, node %q", args, want, pod.Volumes, pod.NodeName)
	}
	role, err := f.Kube.RbacV1().Roles("app").Get(f.Ctx, jobs.RunnerServiceAccount("backup", "web-daily-1"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vs := names.VolumeSnapshot("data", f.session("web-daily-1").CreationTimestamp.Unix())
	var get, create bool
	for _, r := range role.Rules {
		if r.Resources[0] != "volumesnapshots" {
			continue
		}
		get = get || (r.Verbs[0] == "get" && len(r.ResourceNames) == 1 && r.ResourceNames[0] == vs)
		create = create || (r.Verbs[0] == "create" && len(r.ResourceNames) == 0)
		if r.Verbs[0] != "get" && r.Verbs[0] != "create" {
			t.Errorf("the runner may %v VolumeSnapshots", r.Verbs)
		}
	}
	if !get || !create {
		t.Errorf("runner rules %+v: want create on VolumeSnapshots and get on %s only", role.Rules, vs)
	}
}

func TestVolumeSnapshotClassErrorsFailTheComponentWithoutAJob(t *testing.T) {
	f, _ := vsFixture(t, map[string]string{ParamVolumeSnapshotClass: "nope"})
	f.sync("web-daily-1")
	comp := f.snapshot(snapName).Status.Components[jobs.ComponentVolumeSnapshot]
	want := "PersistentVolumeClaim data: VolumeSnapshotClass nope (the task's volumeSnapshotClassName) does not exist"
	if comp.Phase != storagev1alpha1.ComponentFailed || comp.Error != want {
		t.Fatalf("component %+v, want Failed with %q", comp, want)
	}
	list, _ := f.Kube.BatchV1().Jobs("app").List(f.Ctx, metav1.ListOptions{})
	if len(list.Items) != 0 {
		t.Fatalf("Jobs %v were created for a component that cannot run", list.Items)
	}
	f.sync("web-daily-1")
	if bs := f.session("web-daily-1"); bs.Status.Phase != corev1alpha1.BackupSessionFailed {
		t.Fatalf("session %s, want Failed", bs.Status.Phase)
	}
}

func TestVolumeSnapshotExportJobReadsAClaimFromTheSnapshot(t *testing.T) {
	f, _ := vsFixture(t, map[string]string{ParamExport: "true"})
	f.sync("web-daily-1")
	snap := f.snapshot(snapName)
	if snap.Annotations[ComponentsAnnotation] != "volumesnapshot,dump" {
		t.Fatalf("components %q, want the VolumeSnapshot and its export", snap.Annotations[ComponentsAnnotation])
	}
	vsJob, err := f.Kube.BatchV1().Jobs("app").Get(f.Ctx, names.BackupJob("web-daily-1", "web-repo", jobs.ComponentVolumeSnapshot), metav1.GetOptions{})
	if err != nil || !strings.Contains(strings.Join(vsJob.Spec.Template.Spec.Containers[0].Args, " "), "--exports=dump") {
		t.Fatalf("the snapshotter fails the export with it: %v %v", vsJob, err)
	}
	name := names.BackupJob("web-daily-1", "web-repo", jobs.ComponentDump)
	job, err := f.Kube.BatchV1().Jobs("app").Get(f.Ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := job.Spec.Template.Spec
	if job.Spec.TTLSecondsAfterFinished == nil || pod.Containers[0].Args[0] != "backup" || len(pod.Volumes) == 0 {
		t.Fatalf("export Job: ttl %v args %v volumes %v", job.Spec.TTLSecondsAfterFinished, pod.Containers[0].Args, pod.Volumes)
	}
	claim := pod.Volumes[0].PersistentVolumeClaim.ClaimName
	if claim != jobs.ExportClaimName(name, "target") {
		t.Fatalf("the export Job reads claim %s", claim)
	}
	pvc, err := f.Kube.CoreV1().PersistentVolumeClaims("app").Get(f.Ctx, claim, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vs := names.VolumeSnapshot("data", f.session("web-daily-1").CreationTimestamp.Unix())
	size := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if pvc.Spec.DataSourceRef == nil || pvc.Spec.DataSourceRef.Name != vs || *pvc.Spec.StorageClassName != "csi" || size.String() != "1Gi" ||
		len(pvc.OwnerReferences) != 1 || pvc.OwnerReferences[0].Kind != "Job" || pvc.OwnerReferences[0].Name != name {
		t.Fatalf("export claim %+v", pvc)
	}
}

func TestRetentionDeletesTheVolumeSnapshotsNoOtherSnapshotKeeps(t *testing.T) {
	f, snaps := vsFixture(t, nil)
	stats := func(names ...string) map[string]storagev1alpha1.Component {
		var st []storagev1alpha1.VolumeSnapshotterStats
		for _, n := range names {
			st = append(st, storagev1alpha1.VolumeSnapshotterStats{PVCName: "data", VolumeSnapshotName: n})
		}
		return map[string]storagev1alpha1.Component{jobs.ComponentVolumeSnapshot: {Phase: storagev1alpha1.ComponentSucceeded, VolumeSnapshotterStats: st}}
	}
	objs := []runtime.Object{
		&storagev1alpha1.Snapshot{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "repo-a", Labels: map[string]string{jobs.LabelBackupSession: "old"}},
			Spec: storagev1alpha1.SnapshotSpec{BackupSession: "old"}, Status: storagev1alpha1.SnapshotStatus{Components: stats("data-1", "shared-1")}},
		&storagev1alpha1.Snapshot{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "repo-b", Labels: map[string]string{jobs.LabelBackupSession: "old"}},
			Spec: storagev1alpha1.SnapshotSpec{BackupSession: "old"}, Status: storagev1alpha1.SnapshotStatus{Components: stats("shared-1")}},
	}
	for _, o := range objs {
		if _, err := f.Cairn.StorageV1alpha1().Snapshots("app").Create(f.Ctx, o.(*storagev1alpha1.Snapshot), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"data-1", "shared-1"} {
		if _, err := snaps.SnapshotV1().VolumeSnapshots("app").Create(f.Ctx, &snapv1.VolumeSnapshot{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.c.deleteSnapshot(f.Ctx, "app", "repo-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := snaps.SnapshotV1().VolumeSnapshots("app").Get(f.Ctx, "data-1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the dropped Snapshot's own VolumeSnapshot is still there (%v)", err)
	}
	if _, err := snaps.SnapshotV1().VolumeSnapshots("app").Get(f.Ctx, "shared-1", metav1.GetOptions{}); err != nil {
		t.Errorf("a VolumeSnapshot the other repository's Snapshot keeps was deleted: %v", err)
	}
	if _, err := f.Cairn.StorageV1alpha1().Snapshots("app").Get(f.Ctx, "repo-a", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the dropped Snapshot is still there (%v)", err)
	}
	if err := f.c.deleteSnapshot(f.Ctx, "app", "repo-b"); err != nil {
		t.Fatal(err)
	}
	if _, err := snaps.SnapshotV1().VolumeSnapshots("app").Get(f.Ctx, "shared-1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the last Snapshot recording it went, the VolumeSnapshot stayed (%v)", err)
	}
}
