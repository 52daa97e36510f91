package jobs

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	addonsv1alpha1 "github.com/cairnbackup/cairn/pkg/apis/addons/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

func TestPodVolumesFollowTheApplicationsMounts(t *testing.T) {
	spec := &corev1.PodSpec{
		Containers: []corev1.Container{
			{VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/db"}, {Name: "cfg", MountPath: "/etc/app"}, {Name: "logs", MountPath: "/logs", SubPath: "app"}}},
			{VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/db"}, {Name: "data", MountPath: "/backup"}}},
		},
		Volumes: []corev1.Volume{
			{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "db-data"}}},
			{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}},
			{Name: "logs", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "logs"}}},
		},
	}
	vols := PodVolumes(spec, ClaimOf)
	if len(vols) != 2 || vols[0].Name != "data" || vols[0].ClaimName != "db-data" || len(vols[0].Mounts) != 2 || vols[1].Mounts[0].SubPath != "app" {
		t.Fatalf("volumes %+v: want the two PVCs (not the ConfigMap), each mount once, subPath kept", vols)
	}
	for _, v := range vols {
		for _, m := range v.Mounts {
			if !m.ReadOnly {
				t.Fatalf("mount %+v is not read-only", m)
			}
		}
	}
	if got := defaultPaths(vols); got != "/backup,/logs,/var/lib/db" {
		t.Fatalf("defaultPaths = %q", got)
	}
}

func TestStatefulSetVolumesNameTheReplicasClaims(t *testing.T) {
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: appsv1.StatefulSetSpec{
		Template:             corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/var/db"}}}}}},
		VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}},
	}}
	vols := StatefulSetVolumes(sts, 2)
	if len(vols) != 1 || vols[0].ClaimName != "data-db-2" || vols[0].Mounts[0].MountPath != "/var/db" {
		t.Fatalf("replica 2 volumes %+v", vols)
	}
	if StatefulSetComponent(2) != "dump-pod-2" || DaemonSetComponent("n1") != "dump-n1" {
		t.Fatal("component names")
	}
}

func TestRunnerRunsAsTheTargetsUser(t *testing.T) {
	uid, gid, fs := int64(1000), int64(2000), int64(3000)
	sc := runnerPodSecurity(&corev1.PodSecurityContext{RunAsUser: &uid, RunAsGroup: &gid, FSGroup: &fs})
	if *sc.RunAsUser != uid || *sc.RunAsGroup != gid || *sc.FSGroup != fs || !*sc.RunAsNonRoot {
		t.Fatalf("security %+v", sc)
	}
	if sc := runnerPodSecurity(nil); *sc.RunAsUser != RunnerUID || !*sc.RunAsNonRoot {
		t.Fatalf("default security %+v", sc)
	}
	root := int64(0)
	if sc := runnerPodSecurity(&corev1.PodSecurityContext{RunAsUser: &root}); *sc.RunAsNonRoot {
		t.Fatal("a target running as root must get a runner that may read its files")
	}
}

func TestBackupJob(t *testing.T) {
	bs := &corev1alpha1.BackupSession{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web-daily-1", UID: "u"},
		Spec: corev1alpha1.BackupSessionSpec{Invoker: common.TypedLocalObjectReference{Name: "web"}, Session: "daily"}}
	task := &addonsv1alpha1.Task{Name: "logical-backup", Parameters: []common.ParameterDefinition{{Name: "paths", Required: true}, {Name: "exclude", Default: "*.tmp"}}}
	fn := &addonsv1alpha1.Function{ObjectMeta: metav1.ObjectMeta{Name: "f"}, Spec: addonsv1alpha1.FunctionSpec{
		Image: "${CAIRN_IMAGE}", Args: []string{"backup", "--paths=${paths}", "--exclude=${exclude}", "--x=${missing:=def}"}}}
	local := &storagev1alpha1.BackupStorage{Spec: storagev1alpha1.BackupStorageSpec{Storage: storagev1alpha1.Backend{
		Provider: storagev1alpha1.ProviderLocal, Local: &storagev1alpha1.LocalSpec{MountPath: "/backups", SubPath: "cluster-a",
			VolumeSource: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nfs", Path: "/export"}}}}}}
	in := BackupJobInput{Session: bs, Addon: &corev1alpha1.AddonInfo{}, Task: task, TaskRef: &corev1alpha1.TaskReference{Params: map[string]string{"paths": "/data"}},
		Function: fn, Snapshot: "s", Repository: "r", Storage: local, Image: "img:1", ServiceAccount: "sa", Component: Component{Name: ComponentDump, Volumes: PVCVolumes("data")}}
	job, err := BackupJob(in)
	if err != nil {
		t.Fatal(err)
	}
	c := job.Spec.Template.Spec.Containers[0]
	if got := strings.Join(c.Args, " "); got != "backup --paths=/data --exclude=*.tmp --x=def --snapshot=s --component=dump" || c.Image != "img:1" {
		t.Fatalf("args %q image %s", got, c.Image)
	}
	var storage *corev1.VolumeMount
	for i, m := range c.VolumeMounts {
		if m.Name == LocalStorageVolume {
			storage = &c.VolumeMounts[i]
		}
	}
	if storage == nil || storage.MountPath != "/backups" || storage.SubPath != "cluster-a" || storage.ReadOnly {
		t.Fatalf("a local storage must be mounted read-write at its mountPath: %+v", c.VolumeMounts)
	}
	if *job.Spec.BackoffLimit != 0 || job.OwnerReferences[0].Kind != "BackupSession" || job.Labels[LabelBackupSession] != "web-daily-1" {
		t.Fatalf("job %+v", job.ObjectMeta)
	}
	fn.Spec.Args = []string{"--y=${nope}"}
	if _, err := BackupJob(in); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("a placeholder without a value must be an error naming it: %v", err)
	}
}

func TestTriggerCronJobIsSuspendedWhilePaused(t *testing.T) {
	tz := "Europe/Berlin"
	bc := &corev1alpha1.BackupConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web"}, Spec: corev1alpha1.BackupConfigurationSpec{Paused: true}}
	s := &corev1alpha1.Session{Name: "daily", Scheduler: corev1alpha1.SchedulerSpec{Schedule: "0 2 * * *", TimeZone: &tz, ConcurrencyPolicy: corev1alpha1.ForbidConcurrent}}
	cj := TriggerCronJob(bc, s, "img:1")
	if !*cj.Spec.Suspend || *cj.Spec.TimeZone != tz || string(cj.Spec.ConcurrencyPolicy) != "Forbid" || cj.Name != "trigger-web-daily" {
		t.Fatalf("cronjob %+v", cj.Spec)
	}
	bc.Spec.Paused = false
	if resumed := TriggerCronJob(bc, s, "img:1"); *resumed.Spec.Suspend || resumed.Annotations[SpecHashAnnotation] == cj.Annotations[SpecHashAnnotation] {
		t.Fatal("resuming must change the spec and its hash")
	}
}
