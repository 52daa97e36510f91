package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
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
	"github.com/cairnbackup/cairn/pkg/labels"
	"github.com/cairnbackup/cairn/pkg/names"
	"github.com/cairnbackup/cairn/pkg/trigger"
)

// seedScript writes, once, the pod's name and a MiB of random bytes with
// their md5 into /var/db: what a restore must bring back.
const seedScript = `test -f /var/db/owner || { echo "$HOSTNAME" > /var/db/owner; head -c 1048576 /dev/urandom > /var/db/blob; md5sum /var/db/blob | cut -d' ' -f1 > /var/db/blob.md5; }; exec sleep 1000000`

// statefulSet is a 2-replica StatefulSet whose claims (data-db-<ordinal>)
// are on the CSI StorageClass.
func (e *Env) statefulSet() *appsv1.StatefulSet {
	sel := map[string]string{"app": "db"}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: appsv1.StatefulSetSpec{
			Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: sel}, ServiceName: "db",
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}, Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "db", Image: e.ShellImage, ImagePullPolicy: e.PullPolicy,
					Command: []string{"/bin/sh", "-c", seedScript}, VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/var/db"}}}},
			}},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: ptr.To(e.StorageClass),
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("16Mi")}}},
			}},
		},
	}
}

// snapshotConfig backs target up with the volume-snapshot task of addon
// into repository name, params given.
func (e *Env) snapshotConfig(name, addon string, target common.TypedObjectReference, params map[string]string) *corev1alpha1.BackupConfiguration {
	return &corev1alpha1.BackupConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1alpha1.BackupConfigurationSpec{
			Target: target,
			Sessions: []corev1alpha1.Session{{
				Name: "nightly", Scheduler: corev1alpha1.SchedulerSpec{Schedule: "0 3 1 1 *"},
				Addon: corev1alpha1.AddonInfo{Name: addon, Tasks: []corev1alpha1.TaskReference{{Name: "volume-snapshot", Params: params}}},
				Repositories: []corev1alpha1.RepositoryInfo{{Name: name, Directory: "vs-" + name,
					EncryptionSecret: common.ObjectReference{Name: e.PasswordSecret}}},
			}},
		},
	}
}

// backup creates config (if new), waits until it is Ready, runs one
// BackupSession and returns it and its one Snapshot once it is final.
func (e *Env) backup(ctx context.Context, t *testing.T, bc *corev1alpha1.BackupConfiguration) (*corev1alpha1.BackupSession, *storagev1alpha1.Snapshot) {
	t.Helper()
	if _, err := e.Cairn.CoreV1alpha1().BackupConfigurations(e.Namespace).Create(ctx, bc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	e.waitConfigReady(ctx, t, bc.Name)
	bs, err := trigger.Create(ctx, e.Cairn, e.Namespace, bc.Name, bc.Spec.Sessions[0].Name, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	bs = e.waitBackup(ctx, t, bs.Name)
	snaps, err := e.Cairn.StorageV1alpha1().Snapshots(e.Namespace).List(ctx, metav1.ListOptions{LabelSelector: jobs.LabelBackupSession + "=" + bs.Name})
	check(t, err == nil && len(snaps.Items) == 1, "BackupSession %s has Snapshots %+v (%v), want one", bs.Name, snaps, err)
	return bs, &snaps.Items[0]
}

// VolumeSnapshotStatefulSet backs up a 2-replica StatefulSet whose claims
// are on the CSI class with the volume-snapshot task: one component per
// replica (volumesnapshot-pod-<ordinal>), one ready VolumeSnapshot per
// claim named <claim>-<BackupSession unix seconds> with the driver's
// default class, recorded in volumeSnapshotterStats. The volumes are then
// changed, and a volume-snapshot-restore with a ${POD_ORDINAL} template
// creates new claims from the VolumeSnapshots (dataSourceRef, the class and
// access modes of the template, the snapshot's size) holding the data of
// the backup, byte for byte; a second restore onto the same claims fails
// naming the claim and leaves it alone.
func VolumeSnapshotStatefulSet(ctx context.Context, t *testing.T, e *Env) {
	if _, err := e.Kube.AppsV1().StatefulSets(e.Namespace).Create(ctx, e.statefulSet(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 2*time.Second, 4*time.Minute, true, func(ctx context.Context) (bool, error) {
		s, err := e.Kube.AppsV1().StatefulSets(e.Namespace).Get(ctx, "db", metav1.GetOptions{})
		return err == nil && s.Status.ReadyReplicas == 2, nil
	})
	check(t, err == nil, "StatefulSet not ready: %v\n%s", err, e.diagnose(ctx, "app=db"))
	// The seed script has run once the owner file is there.
	for i := 0; i < 2; i++ {
		e.shell(ctx, t, fmt.Sprintf("seeded-%d", i), fmt.Sprintf("until test -s /mnt/data-db-%d/blob.md5; do sleep 1; done", i), fmt.Sprintf("data-db-%d", i))
	}

	bs, snap := e.backup(ctx, t, e.snapshotConfig("db", "workload-addon", common.TypedObjectReference{APIGroup: "apps", Kind: "StatefulSet", Name: "db"}, nil))
	check(t, bs.Status.Phase == corev1alpha1.BackupSessionSucceeded, "BackupSession %s: %+v\nSnapshot %+v", bs.Name, bs.Status, snap.Status)
	check(t, snap.Status.Phase == storagev1alpha1.SnapshotSucceeded && len(snap.Status.Components) == 2, "Snapshot %s: %+v", snap.Name, snap.Status)
	unix := bs.CreationTimestamp.Unix()
	for i := 0; i < 2; i++ {
		comp := snap.Status.Components[fmt.Sprintf("volumesnapshot-pod-%d", i)]
		claim := fmt.Sprintf("data-db-%d", i)
		vsName := names.VolumeSnapshot(claim, unix)
		check(t, comp.Phase == storagev1alpha1.ComponentSucceeded && comp.Driver == "VolumeSnapshotter" && len(comp.VolumeSnapshotterStats) == 1,
			"component volumesnapshot-pod-%d: %+v", i, comp)
		st := comp.VolumeSnapshotterStats[0]
		check(t, st.PVCName == claim && st.VolumeSnapshotName == vsName && st.CreationTime != nil && st.RestoreSize != "",
			"stats of replica %d: %+v (want claim %s, VolumeSnapshot %s, a creation time and a size)", i, st, claim, vsName)
		vs, err := e.Snapshots.SnapshotV1().VolumeSnapshots(e.Namespace).Get(ctx, vsName, metav1.GetOptions{})
		check(t, err == nil, "VolumeSnapshot %s: %v", vsName, err)
		check(t, vs.Status != nil && vs.Status.ReadyToUse != nil && *vs.Status.ReadyToUse && *vs.Spec.Source.PersistentVolumeClaimName == claim &&
			*vs.Spec.VolumeSnapshotClassName == e.SnapshotClass && vs.Labels[jobs.LabelBackupSession] == bs.Name,
			"VolumeSnapshot %s: spec %+v status %+v labels %v", vsName, vs.Spec, vs.Status, vs.Labels)
	}

	// The application goes on writing after the backup.
	for i := 0; i < 2; i++ {
		e.shell(ctx, t, fmt.Sprintf("change-%d", i), fmt.Sprintf("echo changed > /mnt/data-db-%d/owner; head -c 4096 /dev/urandom > /mnt/data-db-%d/blob", i, i), fmt.Sprintf("data-db-%d", i))
	}

	template := corev1.PersistentVolumeClaimTemplate{ObjectMeta: metav1.ObjectMeta{Name: "restored-db-${POD_ORDINAL}"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: ptr.To(e.StorageClass)}}
	restore := func(name string) *corev1alpha1.RestoreSession {
		rs := &corev1alpha1.RestoreSession{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1alpha1.RestoreSessionSpec{
			DataSource: corev1alpha1.RestoreDataSource{Repository: "db", Snapshot: snap.Name, EncryptionSecret: common.ObjectReference{Name: e.PasswordSecret}},
			Addon: corev1alpha1.AddonInfo{Name: "pvc-addon", Tasks: []corev1alpha1.TaskReference{{Name: "volume-snapshot-restore",
				TargetVolumes: &corev1alpha1.TargetVolumeInfo{VolumeClaimTemplates: []corev1.PersistentVolumeClaimTemplate{template}}}}},
		}}
		if _, err := e.Cairn.CoreV1alpha1().RestoreSessions(e.Namespace).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		return e.waitRestore(ctx, t, name)
	}
	rs := restore("from-snapshots")
	check(t, rs.Status.Phase == corev1alpha1.RestoreSucceeded && len(rs.Status.Components) == 2, "RestoreSession: %+v", rs.Status)
	for i := 0; i < 2; i++ {
		name := fmt.Sprintf("restored-db-%d", i)
		pvc, err := e.Kube.CoreV1().PersistentVolumeClaims(e.Namespace).Get(ctx, name, metav1.GetOptions{})
		check(t, err == nil, "restored claim %s: %v", name, err)
		ref := pvc.Spec.DataSourceRef
		check(t, ref != nil && ref.Kind == "VolumeSnapshot" && ref.APIGroup != nil && *ref.APIGroup == snapv1.GroupName && ref.Name == names.VolumeSnapshot(fmt.Sprintf("data-db-%d", i), unix),
			"claim %s dataSourceRef %+v", name, ref)
		check(t, pvc.Spec.StorageClassName != nil && *pvc.Spec.StorageClassName == e.StorageClass && len(pvc.Spec.AccessModes) == 1 && pvc.Spec.AccessModes[0] == corev1.ReadWriteOnce,
			"claim %s class %v modes %v", name, pvc.Spec.StorageClassName, pvc.Spec.AccessModes)
		size := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
		check(t, size.Cmp(resource.MustParse("16Mi")) == 0, "claim %s asks for %s, want the snapshot's 16Mi", name, size.String())
		check(t, pvc.Status.Phase == corev1.ClaimBound && pvc.Labels[labels.ManagedBy] == labels.ManagedByValue, "claim %s: phase %s labels %v", name, pvc.Status.Phase, pvc.Labels)
		reported := rs.Status.Components[fmt.Sprintf("volumesnapshot-pod-%d", i)].Claims
		check(t, len(reported) == 1 && reported[0].Name == name && reported[0].VolumeSnapshot == ref.Name && reported[0].Phase == "Bound",
			"the restore reports claims %+v for replica %d", reported, i)
		e.shell(ctx, t, fmt.Sprintf("check-%d", i), fmt.Sprintf(`test "$(cat /mnt/%[1]s/owner)" = db-%[2]d
test "$(md5sum /mnt/%[1]s/blob | cut -d' ' -f1)" = "$(cat /mnt/%[1]s/blob.md5)"`, name, i), name)
	}

	again := restore("onto-existing")
	check(t, again.Status.Phase == corev1alpha1.RestoreFailed, "a restore onto existing claims: %+v", again.Status)
	msg := again.Status.Components["volumesnapshot-pod-0"].Error
	check(t, strings.Contains(msg, "PersistentVolumeClaim "+e.Namespace+"/restored-db-0 already exists") && strings.Contains(msg, "never overwritten"),
		"error %q, want it to name the existing claim", msg)
	pvc, err := e.Kube.CoreV1().PersistentVolumeClaims(e.Namespace).Get(ctx, "restored-db-0", metav1.GetOptions{})
	check(t, err == nil && pvc.Annotations["cairn.dev/restored-by"] == e.Namespace+"/from-snapshots", "the existing claim was touched: %+v (%v)", pvc.ObjectMeta, err)
}

// VolumeSnapshotErrors: a VolumeSnapshotClass that does not exist, and a
// claim whose volume no CSI driver serves, fail their component with a
// message that names them, and no VolumeSnapshot is created.
func VolumeSnapshotErrors(ctx context.Context, t *testing.T, e *Env, nonCSIClass string) {
	for _, c := range []struct{ claim, class string }{{"on-csi", e.StorageClass}, {"not-csi", nonCSIClass}} {
		e.claim(ctx, t, c.claim, c.class)
		e.shell(ctx, t, "bind-"+c.claim, "true", c.claim)
	}
	for _, tc := range []struct {
		config, claim string
		params        map[string]string
		want          string
	}{
		{"badclass", "on-csi", map[string]string{"volumeSnapshotClassName": "does-not-exist"}, "PersistentVolumeClaim on-csi: VolumeSnapshotClass does-not-exist (the task's volumeSnapshotClassName) does not exist"},
		{"notcsi", "not-csi", nil, "PersistentVolumeClaim not-csi: its volume"},
	} {
		bs, snap := e.backup(ctx, t, e.snapshotConfig(tc.config, "pvc-addon", common.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: tc.claim}, tc.params))
		comp := snap.Status.Components[jobs.ComponentVolumeSnapshot]
		check(t, bs.Status.Phase == corev1alpha1.BackupSessionFailed && comp.Phase == storagev1alpha1.ComponentFailed && strings.Contains(comp.Error, tc.want),
			"%s: session %s, component %+v; want Failed with %q", tc.config, bs.Status.Phase, comp, tc.want)
		_, err := e.Snapshots.SnapshotV1().VolumeSnapshots(e.Namespace).Get(ctx, names.VolumeSnapshot(tc.claim, bs.CreationTimestamp.Unix()), metav1.GetOptions{})
		check(t, apierrors.IsNotFound(err), "%s: a VolumeSnapshot was created (%v)", tc.config, err)
	}
}

// VolumeSnapshotRetention: with a policy that keeps the last Snapshot, the
// second backup's retention deletes the first Snapshot and its
// VolumeSnapshot, keeps the second's, and runs no prune Job (the
// repository holds no engine data).
func VolumeSnapshotRetention(ctx context.Context, t *testing.T, e *Env) {
	e.claim(ctx, t, "kept", e.StorageClass)
	rp := &storagev1alpha1.RetentionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "last-one"},
		Spec: storagev1alpha1.RetentionPolicySpec{SuccessfulSnapshots: &storagev1alpha1.SuccessfulSnapshotsKeepPolicy{Last: ptr.To[int32](1)}}}
	if _, err := e.Cairn.StorageV1alpha1().RetentionPolicies(e.Namespace).Create(ctx, rp, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bc := e.snapshotConfig("kept", "pvc-addon", common.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "kept"}, nil)
	bc.Spec.Backends = []corev1alpha1.BackendReference{{Name: "main", StorageRef: common.ObjectReference{Name: e.Storage}, RetentionPolicy: common.ObjectReference{Name: "last-one"}}}
	var sessions []*corev1alpha1.BackupSession
	var snaps []*storagev1alpha1.Snapshot
	for i := 0; i < 2; i++ {
		bs, snap := e.backup(ctx, t, bc)
		check(t, bs.Status.Phase == corev1alpha1.BackupSessionSucceeded, "backup %d: %+v", i, bs.Status)
		sessions, snaps = append(sessions, bs), append(snaps, snap)
		time.Sleep(1100 * time.Millisecond) // the next session's VolumeSnapshot gets the next second's name
	}
	first := names.VolumeSnapshot("kept", sessions[0].CreationTimestamp.Unix())
	second := names.VolumeSnapshot("kept", sessions[1].CreationTimestamp.Unix())
	err := wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := e.Snapshots.SnapshotV1().VolumeSnapshots(e.Namespace).Get(ctx, first, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	check(t, err == nil, "the dropped Snapshot's VolumeSnapshot %s is still there", first)
	_, err = e.Cairn.StorageV1alpha1().Snapshots(e.Namespace).Get(ctx, snaps[0].Name, metav1.GetOptions{})
	check(t, apierrors.IsNotFound(err), "the dropped Snapshot %s is still there (%v)", snaps[0].Name, err)
	_, err = e.Snapshots.SnapshotV1().VolumeSnapshots(e.Namespace).Get(ctx, second, metav1.GetOptions{})
	check(t, err == nil, "the kept Snapshot's VolumeSnapshot %s: %v", second, err)
	_, err = e.Cairn.StorageV1alpha1().Snapshots(e.Namespace).Get(ctx, snaps[1].Name, metav1.GetOptions{})
	check(t, err == nil, "the kept Snapshot %s: %v", snaps[1].Name, err)
	var retentionJobs *batchv1.JobList
	retentionJobs, err = e.Kube.BatchV1().Jobs(e.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.Component + "=" + jobs.ComponentRetention})
	check(t, err == nil && len(retentionJobs.Items) == 0, "retention of VolumeSnapshot-only Snapshots ran Jobs %v (%v)", retentionJobs, err)
	last, err := e.Cairn.CoreV1alpha1().BackupSessions(e.Namespace).Get(ctx, sessions[1].Name, metav1.GetOptions{})
	check(t, err == nil && len(last.Status.RetentionPolicy) == 1 && last.Status.RetentionPolicy[0].Phase == corev1alpha1.RetentionPolicyApplied,
		"retention status %+v (%v)", last.Status.RetentionPolicy, err)
}
