//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/volumeclaims"
	"github.com/cairnbackup/cairn/test/cluster"
)

// startDB runs StatefulSet "db": two replicas of the app's user, each
// writing its pod name into /var/db/owner on its own claim data-db-<n>,
// backed up by config "db" (workload-addon, paths /var/db).
func (e *configEnv) startDB(ctx context.Context, t *testing.T) {
	t.Helper()
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
	if _, err := e.c.Client().AppsV1().StatefulSets(e.ns).Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitDBReady(ctx, t, 2)
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
}

// waitDBReady waits until StatefulSet db has n ready replicas (and, for
// zero, no pods left).
func (e *configEnv) waitDBReady(ctx context.Context, t *testing.T, n int32) {
	t.Helper()
	kube := e.c.Client()
	err := wait.PollUntilContextTimeout(ctx, 2*time.Second, 4*time.Minute, true, func(ctx context.Context) (bool, error) {
		s, err := kube.AppsV1().StatefulSets(e.ns).Get(ctx, "db", metav1.GetOptions{})
		if err != nil || s.Status.ReadyReplicas != n {
			return false, nil
		}
		pods, err := kube.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=db"})
		return err == nil && (n > 0 || len(pods.Items) == 0), nil
	})
	if err != nil {
		t.Fatalf("StatefulSet db did not reach %d ready replicas:\n%s", n, e.c.Diagnose(ctx, e.ns, "app=db"))
	}
	time.Sleep(2 * time.Second) // the replicas write their owner file as they start
}

// scaleDB scales StatefulSet db to n replicas and waits for them.
func (e *configEnv) scaleDB(ctx context.Context, t *testing.T, n int32) {
	t.Helper()
	scale := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: e.ns}, Spec: autoscalingv1.ScaleSpec{Replicas: n}}
	if _, err := e.c.Client().AppsV1().StatefulSets(e.ns).UpdateScale(ctx, "db", scale, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitDBReady(ctx, t, n)
}

// TestDisasterRecoveryRecreatesTheClaims: a StatefulSet whose claims are
// gone is restored by a RestoreSession with volumeClaimTemplates
// (data-db-${POD_ORDINAL}): the claims are created, each filled with its
// replica's data, and the StatefulSet runs on them again. A second such
// restore finds the claims there and fails naming one, never overwriting it.
func TestDisasterRecoveryRecreatesTheClaims(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	e := newConfigEnv(ctx, t)
	kube := e.c.Client()
	e.startDB(ctx, t)
	e.backUpNow(ctx, t, "db")

	// The disaster: the StatefulSet is scaled to zero and its claims are gone.
	e.scaleDB(ctx, t, 0)
	// The backup's finished runner pods still name the claims, which keeps
	// them from being deleted (pvc-protection); in a disaster they are gone
	// with them.
	if err := kube.CoreV1().Pods(e.ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: jobs.LabelBackupSession}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := kube.CoreV1().PersistentVolumeClaims(e.ns).Delete(ctx, fmt.Sprintf("data-db-%d", i), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err0 := kube.CoreV1().PersistentVolumeClaims(e.ns).Get(ctx, "data-db-0", metav1.GetOptions{})
		_, err1 := kube.CoreV1().PersistentVolumeClaims(e.ns).Get(ctx, "data-db-1", metav1.GetOptions{})
		return apierrors.IsNotFound(err0) && apierrors.IsNotFound(err1), nil
	}); err != nil {
		t.Fatal("the claims were not deleted")
	}

	restore := func(name string) *corev1alpha1.RestoreSession {
		return &corev1alpha1.RestoreSession{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1alpha1.RestoreSessionSpec{
				Target: &common.TypedObjectReference{APIGroup: "apps", Kind: "StatefulSet", Name: "db"},
				DataSource: corev1alpha1.RestoreDataSource{Repository: "db", Snapshot: corev1alpha1.LatestSnapshot,
					EncryptionSecret: common.ObjectReference{Name: "password"}},
				Addon: corev1alpha1.AddonInfo{Name: "workload-addon", Tasks: []corev1alpha1.TaskReference{{Name: "logical-backup-restore",
					TargetVolumes: &corev1alpha1.TargetVolumeInfo{VolumeClaimTemplates: []corev1.PersistentVolumeClaimTemplate{{
						ObjectMeta: metav1.ObjectMeta{Name: "data-db-${POD_ORDINAL}"},
						Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
							Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("16Mi")}}},
					}}}}}},
			},
		}
	}
	if _, err := e.cairn.CoreV1alpha1().RestoreSessions(e.ns).Create(ctx, restore("dr"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitRestore(ctx, t, "dr")
	for i := 0; i < 2; i++ {
		claim := fmt.Sprintf("data-db-%d", i)
		pvc, err := kube.CoreV1().PersistentVolumeClaims(e.ns).Get(ctx, claim, metav1.GetOptions{})
		if err != nil || pvc.Annotations[volumeclaims.CreatedByAnnotation] != e.ns+"/dr" {
			t.Fatalf("claim %s: %v %v", claim, pvc.Annotations, err)
		}
		e.runInClaim(ctx, t, fmt.Sprintf("check-%d", i), claim, fmt.Sprintf(`test "$(cat /var/db/owner)" = db-%d; test "$(stat -c %%u /var/db/owner)" = %d`, i, appUID))
	}
	// The StatefulSet adopts the restored claims.
	e.scaleDB(ctx, t, 2)

	// Restoring again with the same templates never overwrites them.
	if _, err := e.cairn.CoreV1alpha1().RestoreSessions(e.ns).Create(ctx, restore("dr-again"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rs := e.waitRestoreWhere(ctx, t, "dr-again", "a final phase", time.Minute, func(rs *corev1alpha1.RestoreSession) bool { return rs.Status.Phase.IsFinished() })
	if msg := condMessageOf(rs, corev1alpha1.ConditionRestoreJobsCreated); rs.Status.Phase != corev1alpha1.RestoreFailed || !strings.Contains(msg, "data-db-0 already exists") {
		t.Fatalf("second restore: phase %s, %q", rs.Status.Phase, msg)
	}
}

func condMessageOf(rs *corev1alpha1.RestoreSession, t string) string {
	for _, c := range rs.Status.Conditions {
		if c.Type == t {
			return c.Message
		}
	}
	return ""
}
