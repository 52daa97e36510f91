package jobs

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	addonsv1alpha1 "github.com/cairnbackup/cairn/pkg/apis/addons/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
)

func TestVolumeSnapshotComponents(t *testing.T) {
	vol := func(claim string) TargetVolume {
		return TargetVolume{Name: claim, ClaimName: claim, Mounts: []corev1.VolumeMount{{Name: claim, MountPath: "/" + claim}}}
	}
	sts := VolumeSnapshotComponents([]Component{
		{Name: "dump-pod-0", Volumes: []TargetVolume{vol("data-db-0"), vol("logs-db-0")}, NodeName: "n1"},
		{Name: "dump-pod-1", Volumes: []TargetVolume{vol("data-db-1")}},
	})
	if len(sts) != 2 || sts[0].Name != "volumesnapshot-pod-0" || sts[1].Name != "volumesnapshot-pod-1" || sts[0].NodeName != "" ||
		!reflect.DeepEqual(sts[0].Claims(), []string{"data-db-0", "logs-db-0"}) {
		t.Errorf("StatefulSet components %+v", sts)
	}
	ds := VolumeSnapshotComponents([]Component{
		{Name: "dump-n1", Volumes: []TargetVolume{vol("shared")}, NodeName: "n1"},
		{Name: "dump-n2", Volumes: []TargetVolume{vol("shared")}, NodeName: "n2"},
	})
	if len(ds) != 1 || ds[0].Name != ComponentVolumeSnapshot || !reflect.DeepEqual(ds[0].Claims(), []string{"shared"}) {
		t.Errorf("a DaemonSet's pods share their claims: one component, each claim once: %+v", ds)
	}
	dep := VolumeSnapshotComponents([]Component{{Name: ComponentDump, Volumes: []TargetVolume{vol("b"), vol("a")}}})
	if len(dep) != 1 || dep[0].Name != "volumesnapshot" || !reflect.DeepEqual(dep[0].Claims(), []string{"a", "b"}) {
		t.Errorf("Deployment components %+v", dep)
	}
}

func TestVolumeSnapshotJobMountsNothing(t *testing.T) {
	bs := &corev1alpha1.BackupSession{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "db-daily-1"},
		Spec: corev1alpha1.BackupSessionSpec{Invoker: common.TypedLocalObjectReference{Kind: "BackupConfiguration", Name: "db"}, Session: "daily"}}
	fn := &addonsv1alpha1.Function{ObjectMeta: metav1.ObjectMeta{Name: "cairn-volume-snapshot"}, Spec: addonsv1alpha1.FunctionSpec{
		Image: "${CAIRN_IMAGE}", Command: []string{"/cairn"}, Args: []string{"volume-snapshot", "--backup-session=${BACKUP_SESSION}", "--ready-timeout=${readyTimeout:=10m}"}}}
	task := &addonsv1alpha1.Task{Name: "volume-snapshot", Function: fn.Name, Driver: addonsv1alpha1.DriverVolumeSnapshotter}
	comp := Component{Name: "volumesnapshot-pod-0", Volumes: []TargetVolume{{Name: "data", ClaimName: "data-db-0", Mounts: []corev1.VolumeMount{{Name: "data", MountPath: "/d"}}}},
		NodeName: "n1", PodSecurity: &corev1.PodSecurityContext{RunAsUser: ptr(int64(0))}}
	job, err := VolumeSnapshotJob(BackupJobInput{Session: bs, Addon: &corev1alpha1.AddonInfo{Name: "workload-addon"}, Task: task,
		TaskRef: &corev1alpha1.TaskReference{Name: "volume-snapshot", Params: map[string]string{"readyTimeout": "3m"}}, Function: fn,
		Snapshot: "repo-daily-1", Repository: "repo", Component: comp, Image: "img", ServiceAccount: "sa"}, []string{"data-db-0:csi"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pod := job.Spec.Template.Spec
	c := pod.Containers[0]
	want := []string{"volume-snapshot", "--backup-session=db-daily-1", "--ready-timeout=3m", "--snapshot=repo-daily-1", "--component=volumesnapshot-pod-0", "--claims=data-db-0:csi"}
	if !reflect.DeepEqual(c.Args, want) || c.Image != "img" {
		t.Errorf("args %q image %s, want %q", c.Args, c.Image, want)
	}
	if len(pod.Volumes) != 0 || len(c.VolumeMounts) != 0 || pod.NodeName != "" || *pod.SecurityContext.RunAsUser != RunnerUID {
		t.Errorf("the volume-snapshotter mounts nothing, is pinned nowhere and runs as Cairn's user: %+v", pod)
	}
	if job.Labels[LabelDataComponent] != "volumesnapshot-pod-0" || *job.Spec.BackoffLimit != 0 || pod.ServiceAccountName != "sa" {
		t.Errorf("job %+v", job.ObjectMeta)
	}
}

func TestVolumeSnapshotAccessRules(t *testing.T) {
	a := Access{}
	a.CreateVolumeSnapshots("ns")
	a.VolumeSnapshot("ns", "data-1")
	a.Claim("ns", "data")
	a.CreateClaims("ns")
	rules := a["ns"].rules()
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{"snapshot.storage.k8s.io"}, Resources: []string{"volumesnapshots"}, Verbs: []string{"get"}, ResourceNames: []string{"data-1"}},
		{APIGroups: []string{""}, Resources: []string{"persistentvolumeclaims"}, Verbs: []string{"get"}, ResourceNames: []string{"data"}},
		{APIGroups: []string{"snapshot.storage.k8s.io"}, Resources: []string{"volumesnapshots"}, Verbs: []string{"create"}},
		{APIGroups: []string{""}, Resources: []string{"persistentvolumeclaims"}, Verbs: []string{"create"}},
	}
	if !reflect.DeepEqual(rules, want) {
		t.Errorf("rules\n%+v\nwant\n%+v", rules, want)
	}
	for _, r := range (Access{}).in("other").rules() {
		if strings.Contains(strings.Join(r.Resources, ","), "volumesnapshots") {
			t.Error("an access without VolumeSnapshots grants them")
		}
	}
}
