package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/names"
)

// claim makes a claim of 16Mi on class.
func (e *Env) claim(ctx context.Context, t *testing.T, name, class string) {
	t.Helper()
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeClaimSpec{
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: ptr.To(class),
		Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("16Mi")}}}}
	if _, err := e.Kube.CoreV1().PersistentVolumeClaims(e.Namespace).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// VolumeSnapshotExport: with the task's export: "true", the backup of a
// claim holds both its VolumeSnapshot (component volumesnapshot) and an
// engine copy made from it through a temporary claim (component dump, in
// the session's repository), and the temporary claim is removed. Once the
// VolumeSnapshot is gone, a VolumeSnapshot restore fails saying so, and a
// logical restore of the dump component into a new claim brings the data
// back byte for byte.
func VolumeSnapshotExport(ctx context.Context, t *testing.T, e *Env) {
	e.claim(ctx, t, "exported", e.StorageClass)
	e.shell(ctx, t, "seed", `cd /mnt/exported; echo exported > owner; head -c 1048576 /dev/urandom > blob; md5sum blob | cut -d' ' -f1 > blob.md5`, "exported")
	bc := e.snapshotConfig("exported", "pvc-addon", common.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "exported"}, map[string]string{"export": "true"})
	start := time.Now()
	bs, snap := e.backup(ctx, t, bc)
	t.Logf("export backup %s finished in %s", bs.Name, time.Since(start).Round(time.Second))
	check(t, bs.Status.Phase == corev1alpha1.BackupSessionSucceeded && snap.Status.Phase == storagev1alpha1.SnapshotSucceeded && len(snap.Status.Components) == 2,
		"export backup: session %+v\nSnapshot %+v", bs.Status, snap.Status)
	vsComp, dump := snap.Status.Components[jobs.ComponentVolumeSnapshot], snap.Status.Components[jobs.ComponentDump]
	check(t, vsComp.Phase == storagev1alpha1.ComponentSucceeded && len(vsComp.VolumeSnapshotterStats) == 1, "component volumesnapshot: %+v", vsComp)
	check(t, dump.Phase == storagev1alpha1.ComponentSucceeded && dump.DataMoverSnapshotID != "" && dump.Stats != nil && dump.Stats.TotalFiles == 3,
		"component dump (the export): %+v, want an engine snapshot of the 3 files", dump)

	err := wait.PollUntilContextTimeout(ctx, 2*time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := e.Kube.CoreV1().PersistentVolumeClaims(e.Namespace).List(ctx, metav1.ListOptions{LabelSelector: jobs.LabelBackupSession + "=" + bs.Name})
		return err == nil && len(list.Items) == 0, nil
	})
	check(t, err == nil, "the export's temporary claims are still there: %v", err)
	t.Logf("temporary claims gone %s after the backup started", time.Since(start).Round(time.Second))

	vs := names.VolumeSnapshot("exported", bs.CreationTimestamp.Unix())
	if err := e.Snapshots.SnapshotV1().VolumeSnapshots(e.Namespace).Delete(ctx, vs, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := e.Snapshots.SnapshotV1().VolumeSnapshots(e.Namespace).Get(ctx, vs, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	check(t, err == nil, "VolumeSnapshot %s not deleted", vs)

	source := corev1alpha1.RestoreDataSource{Repository: "exported", Snapshot: snap.Name, EncryptionSecret: common.ObjectReference{Name: e.PasswordSecret}}
	fromVS := &corev1alpha1.RestoreSession{ObjectMeta: metav1.ObjectMeta{Name: "from-gone-snapshot"}, Spec: corev1alpha1.RestoreSessionSpec{DataSource: source,
		Addon: corev1alpha1.AddonInfo{Name: "pvc-addon", Tasks: []corev1alpha1.TaskReference{{Name: "volume-snapshot-restore",
			TargetVolumes: &corev1alpha1.TargetVolumeInfo{VolumeClaimTemplates: []corev1.PersistentVolumeClaimTemplate{{ObjectMeta: metav1.ObjectMeta{Name: "never"},
				Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: ptr.To(e.StorageClass)}}}}}}}}}
	if _, err := e.Cairn.CoreV1alpha1().RestoreSessions(e.Namespace).Create(ctx, fromVS, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rs := e.waitRestore(ctx, t, fromVS.Name)
	t.Logf("restore from the deleted VolumeSnapshot ended (%s) at %s", rs.Status.Phase, time.Since(start).Round(time.Second))
	msg := rs.Status.Components[jobs.ComponentVolumeSnapshot].Error
	check(t, rs.Status.Phase == corev1alpha1.RestoreFailed && strings.Contains(msg, "VolumeSnapshot "+vs+" of Snapshot "+snap.Name+" no longer exists"),
		"a restore from the deleted VolumeSnapshot: %+v", rs.Status)
	_, err = e.Kube.CoreV1().PersistentVolumeClaims(e.Namespace).Get(ctx, "never", metav1.GetOptions{})
	check(t, apierrors.IsNotFound(err), "a claim was made from a deleted VolumeSnapshot (%v)", err)

	e.claim(ctx, t, "fresh", e.StorageClass)
	source.Components = []string{jobs.ComponentDump}
	logical := &corev1alpha1.RestoreSession{ObjectMeta: metav1.ObjectMeta{Name: "from-export"}, Spec: corev1alpha1.RestoreSessionSpec{DataSource: source,
		Target: &common.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "fresh"},
		Addon:  corev1alpha1.AddonInfo{Name: "pvc-addon", Tasks: []corev1alpha1.TaskReference{{Name: "logical-backup-restore"}}}}}
	if _, err := e.Cairn.CoreV1alpha1().RestoreSessions(e.Namespace).Create(ctx, logical, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rs = e.waitRestore(ctx, t, logical.Name)
	t.Logf("logical restore of the export ended (%s) at %s", rs.Status.Phase, time.Since(start).Round(time.Second))
	check(t, rs.Status.Phase == corev1alpha1.RestoreSucceeded, "the logical restore of the export: %+v", rs.Status)
	e.shell(ctx, t, "check-fresh", `cd /mnt/fresh; test "$(cat owner)" = exported; test "$(md5sum blob | cut -d' ' -f1)" = "$(cat blob.md5)"`, "fresh")
}
