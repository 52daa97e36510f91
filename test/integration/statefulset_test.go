//go:build integration

package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/trigger"
	"github.com/cairnbackup/cairn/test/cluster"
	"github.com/cairnbackup/cairn/test/scenario"
)

// TestStatefulSetPerReplica: each replica of a StatefulSet is its own
// component (dump-pod-<ordinal>) with its own claim; a restore of one
// replica brings that replica's data back and leaves the other alone.
func TestStatefulSetPerReplica(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	e := newConfigEnv(ctx, t)
	kube := e.c.Client()
	labels := map[string]string{"app": "db"}
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: appsv1.StatefulSetSpec{
			Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: labels}, ServiceName: "db",
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					SecurityContext: &corev1.PodSecurityContext{RunAsUser: ptr.To(appUID), RunAsGroup: ptr.To(appUID), FSGroup: ptr.To(appUID)},
					Containers: []corev1.Container{{Name: "db", Image: cluster.BusyboxImage, ImagePullPolicy: corev1.PullNever,
						Command:      []string{"/bin/sh", "-c", `test -f /var/db/owner || echo "$HOSTNAME" > /var/db/owner; exec sleep 1000000`},
						VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/var/db"}}}},
				},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("16Mi")}}},
			}},
		},
	}
	if _, err := kube.AppsV1().StatefulSets(e.ns).Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 2*time.Second, 4*time.Minute, true, func(ctx context.Context) (bool, error) {
		s, err := kube.AppsV1().StatefulSets(e.ns).Get(ctx, "db", metav1.GetOptions{})
		return err == nil && s.Status.ReadyReplicas == 2, nil
	})
	if err != nil {
		t.Fatalf("StatefulSet not ready:\n%s", e.c.Diagnose(ctx, e.ns, "app=db"))
	}
	time.Sleep(2 * time.Second)
	bc := &corev1alpha1.BackupConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: corev1alpha1.BackupConfigurationSpec{
			Target: common.TypedObjectReference{APIGroup: "apps", Kind: "StatefulSet", Name: "db"},
			Sessions: []corev1alpha1.Session{{
				Name: "nightly", Scheduler: corev1alpha1.SchedulerSpec{Schedule: "0 3 1 1 *"},
				Addon: corev1alpha1.AddonInfo{Name: "workload-addon", Tasks: []corev1alpha1.TaskReference{
					{Name: "logical-backup", Params: map[string]string{"paths": "/var/db"}}}},
				Repositories: []corev1alpha1.RepositoryInfo{{Name: "db", Directory: "db", EncryptionSecret: common.ObjectReference{Name: "password"}}},
			}},
		},
	}
	if _, err := e.cairn.CoreV1alpha1().BackupConfigurations(e.ns).Create(ctx, bc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitConfig(ctx, t, "db", 2*time.Minute, "Ready", isPhase(corev1alpha1.BackupConfigurationReady))
	bs, err := trigger.Create(ctx, e.cairn, e.ns, "db", "nightly", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.waitBackup(ctx, t, bs.Name)
	snaps, _ := e.cairn.StorageV1alpha1().Snapshots(e.ns).List(ctx, metav1.ListOptions{LabelSelector: jobs.LabelBackupSession + "=" + bs.Name})
	if len(snaps.Items) != 1 || len(snaps.Items[0].Status.Components) != 2 {
		t.Fatalf("want one Snapshot with components dump-pod-0 and dump-pod-1: %+v", snaps.Items)
	}
	// Both replicas first initialised the same engine repository at once
	// (the engine's race-safe init); both components must have succeeded.
	for _, c := range []string{jobs.StatefulSetComponent(0), jobs.StatefulSetComponent(1)} {
		if snaps.Items[0].Status.Components[c].DataMoverSnapshotID == "" {
			t.Fatalf("component %s: %+v", c, snaps.Items[0].Status.Components[c])
		}
	}

	// Damage both replicas; restore replica 1 only.
	for i := 0; i < 2; i++ {
		e.runInClaim(ctx, t, fmt.Sprintf("damage-%d", i), fmt.Sprintf("data-db-%d", i), "echo corrupted > /var/db/owner")
	}
	rs := &corev1alpha1.RestoreSession{
		ObjectMeta: metav1.ObjectMeta{Name: "one-replica"},
		Spec: corev1alpha1.RestoreSessionSpec{
			Target: &common.TypedObjectReference{APIGroup: "apps", Kind: "StatefulSet", Name: "db"},
			DataSource: corev1alpha1.RestoreDataSource{Repository: "db", Snapshot: snaps.Items[0].Name,
				Components: []string{jobs.StatefulSetComponent(1)}, EncryptionSecret: common.ObjectReference{Name: "password"}},
			Addon: corev1alpha1.AddonInfo{Name: "workload-addon", Tasks: []corev1alpha1.TaskReference{{Name: "logical-backup-restore"}}},
		},
	}
	if _, err := e.cairn.CoreV1alpha1().RestoreSessions(e.ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitRestore(ctx, t, "one-replica")
	e.runInClaim(ctx, t, "check-1", "data-db-1", `test "$(cat /var/db/owner)" = db-1`)
	e.runInClaim(ctx, t, "check-0", "data-db-0", `test "$(cat /var/db/owner)" = corrupted`)
}

// runInClaim runs script as the app's user with claim mounted at /var/db.
func (e *configEnv) runInClaim(ctx context.Context, t *testing.T, name, claim, script string) {
	t.Helper()
	spec := scenario.PodSpec(nil, []corev1.Container{scenario.Shell(name, script, scenario.Mount("data", "/var/db"))}, scenario.ClaimVolume("data", claim))
	spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To(appUID), RunAsGroup: ptr.To(appUID)}
	if err := scenario.RunJob(ctx, e.c, e.ns, name, spec); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, e.c.Diagnose(ctx, e.ns, "job-name="+name))
	}
}
