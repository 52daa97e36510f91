//go:build integration

package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/trigger"
	"github.com/cairnbackup/cairn/test/scenario"
)

// TestStatefulSetPerReplica: each replica of a StatefulSet is its own
// component (dump-pod-<ordinal>) with its own claim; a restore of one
// replica brings that replica's data back and leaves the other alone.
func TestStatefulSetPerReplica(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	e := newConfigEnv(ctx, t)
	e.startDB(ctx, t)
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
