package restore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/cairnbackup/cairn/client/clientset/versioned/fake"
	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/internal/fixture"
)

func TestParseTarget(t *testing.T) {
	for in, want := range map[string]common.TypedObjectReference{
		"pvc/data":                   {Kind: "PersistentVolumeClaim", Name: "data"},
		"PersistentVolumeClaim/data": {Kind: "PersistentVolumeClaim", Name: "data"},
		"deployment/web":             {APIGroup: "apps", Kind: "Deployment", Name: "web"},
		"deployment.apps/web":        {APIGroup: "apps", Kind: "Deployment", Name: "web"},
		"sts/db":                     {APIGroup: "apps", Kind: "StatefulSet", Name: "db"},
		"ds/agent":                   {APIGroup: "apps", Kind: "DaemonSet", Name: "agent"},
	} {
		if got, err := ParseTarget(in); err != nil || got != want {
			t.Errorf("%s: %+v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "web", "pod/web", "pvc/", "pvc/a/b", "/web"} {
		if _, err := ParseTarget(bad); err == nil || !strings.Contains(err.Error(), "KIND/NAME") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func web() *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: fixture.NS, Name: "web"}}
}

func TestCreateWritesTheRestoreSession(t *testing.T) {
	ctx := context.Background()
	kube := kubefake.NewSimpleClientset(web(), &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: fixture.NS, Name: "copy"}})
	c := fake.NewSimpleClientset(fixture.Repository("web", fixture.Web),
		fixture.Snapshot("web-1", "web", "web", storagev1alpha1.SnapshotSucceeded, -2*time.Hour, "a"),
		fixture.Snapshot("web-2", "web", "web", storagev1alpha1.SnapshotSucceeded, -time.Hour, "b"))

	rs, found, err := Create(ctx, kube, c, fixture.NS, Request{Snapshot: "latest", Target: fixture.Web}, fixture.Epoch)
	if err != nil {
		t.Fatal(err)
	}
	ds := rs.Spec.DataSource
	if found.Snapshot.Name != "web-2" || ds.Snapshot != "web-2" || ds.Repository != "web" || ds.EncryptionSecret.Name != "password" {
		t.Fatalf("data source %+v", ds)
	}
	if rs.Name != "restore-web-1796299200" || *rs.Spec.Target != fixture.Web || rs.Spec.Addon.Name != WorkloadAddon || rs.Spec.Addon.Tasks[0].Name != RestoreTask {
		t.Fatalf("restore session %s %+v", rs.Name, rs.Spec)
	}
	if _, err := c.CoreV1alpha1().RestoreSessions(fixture.NS).Get(ctx, rs.Name, metav1.GetOptions{}); err != nil {
		t.Fatalf("not created: %v", err)
	}
	if _, _, err := Create(ctx, kube, c, fixture.NS, Request{Snapshot: "latest", Target: fixture.Web}, fixture.Epoch); err == nil || !strings.Contains(err.Error(), "--name") {
		t.Fatalf("same name twice: %v", err)
	}

	// Into another PVC: the PVC Addon, the named snapshot.
	pvc := common.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "copy"}
	rs, _, err = Create(ctx, kube, c, fixture.NS, Request{Snapshot: "web-1", Target: pvc, Name: "into-copy", Components: []string{"dump"}}, fixture.Epoch)
	if err != nil || rs.Spec.Addon.Name != PVCAddon || rs.Spec.DataSource.Snapshot != "web-1" || rs.Spec.DataSource.Components[0] != "dump" {
		t.Fatalf("into a PVC: %+v, %v", rs, err)
	}

	_, _, err = Create(ctx, kube, c, fixture.NS, Request{Snapshot: "latest", Target: common.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "gone"}}, fixture.Epoch)
	if err == nil || !strings.Contains(err.Error(), "does not exist: create it first") {
		t.Fatalf("missing target: %v", err)
	}
}

func session(phase corev1alpha1.RestorePhase, comps map[string]corev1alpha1.ComponentRestoreStatus) *corev1alpha1.RestoreSession {
	return &corev1alpha1.RestoreSession{ObjectMeta: metav1.ObjectMeta{Namespace: fixture.NS, Name: "undo"},
		Status: corev1alpha1.RestoreSessionStatus{Phase: phase, TotalComponents: int32(len(comps)), Components: comps}}
}

func TestProgressOf(t *testing.T) {
	p := ProgressOf(session(corev1alpha1.RestoreRunning, map[string]corev1alpha1.ComponentRestoreStatus{
		"dump-pod-0": {Phase: storagev1alpha1.ComponentSucceeded, Progress: &storagev1alpha1.Progress{BytesDone: 90, BytesTotal: 100, FilesDone: 9, FilesTotal: 10}},
		"dump-pod-1": {Phase: storagev1alpha1.ComponentRunning, Progress: &storagev1alpha1.Progress{BytesDone: 50, BytesTotal: 200, FilesDone: 1, FilesTotal: 4}},
	}))
	if p != (Progress{BytesDone: 150, BytesTotal: 300, FilesDone: 11, FilesTotal: 14, Done: 1, Total: 2}) {
		t.Fatalf("%+v", p)
	}
}

func TestFollow(t *testing.T) {
	ctx := context.Background()
	c := fake.NewSimpleClientset()
	running := session(corev1alpha1.RestoreRunning, map[string]corev1alpha1.ComponentRestoreStatus{"dump": {Phase: storagev1alpha1.ComponentRunning}})
	fixture.Sequence(c, "restoresessions", session("", nil), running, session(corev1alpha1.RestoreSucceeded, map[string]corev1alpha1.ComponentRestoreStatus{"dump": {Phase: storagev1alpha1.ComponentSucceeded}}))
	var seen []corev1alpha1.RestorePhase
	rs, err := Follow(ctx, c, fixture.NS, "undo", time.Millisecond, func(rs *corev1alpha1.RestoreSession) { seen = append(seen, rs.Status.Phase) })
	if err != nil || rs.Status.Phase != corev1alpha1.RestoreSucceeded || len(seen) != 3 {
		t.Fatalf("%v %v %v", rs, err, seen)
	}

	c = fake.NewSimpleClientset()
	failed := session(corev1alpha1.RestoreFailed, map[string]corev1alpha1.ComponentRestoreStatus{"dump": {Phase: storagev1alpha1.ComponentFailed, Error: "wrong password: put the right one in Secret ns/password"}})
	failed.Status.Conditions = []metav1.Condition{{Type: corev1alpha1.ConditionRestoreJobsCreated, Status: metav1.ConditionFalse, Message: "the restore Job failed"}}
	fixture.Sequence(c, "restoresessions", running, failed)
	_, err = Follow(ctx, c, fixture.NS, "undo", time.Millisecond, nil)
	if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "component dump: wrong password") || !strings.Contains(err.Error(), "the restore Job failed") {
		t.Fatalf("failed restore: %v", err)
	}

	_, err = Follow(ctx, fake.NewSimpleClientset(), fixture.NS, "undo", time.Millisecond, nil)
	if err == nil || !strings.Contains(err.Error(), "was deleted") {
		t.Fatalf("missing session: %v", err)
	}
}
