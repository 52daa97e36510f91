package restoresession

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"

	addonsv1alpha1 "github.com/cairnbackup/cairn/pkg/apis/addons/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller/internal/controllertest"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/names"
)

type fixture struct {
	*controllertest.Fixture
	t *testing.T
	c *Controller
}

func newFixture(t *testing.T, kubeObjs, cairnObjs []runtime.Object) *fixture {
	base := controllertest.New(t, kubeObjs, cairnObjs)
	c, err := New(base.Deps)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{Fixture: base, t: t, c: c}
	f.c.now = func() time.Time { return f.Now }
	f.Refresh()
	return f
}

func (f *fixture) sync() *corev1alpha1.RestoreSession {
	f.t.Helper()
	if _, err := f.Sync(func() error {
		_, err := f.c.sync(f.Ctx, cache.ObjectName{Namespace: "app", Name: "restore"})
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
	rs, err := f.Cairn.CoreV1alpha1().RestoreSessions("app").Get(f.Ctx, "restore", metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return rs
}

func snapshot(name string, at time.Time, phase storagev1alpha1.SnapshotPhase, comps ...string) *storagev1alpha1.Snapshot {
	s := &storagev1alpha1.Snapshot{
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: name},
		Spec:       storagev1alpha1.SnapshotSpec{Repository: "repo", AppRef: common.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "data", Namespace: "app"}},
		Status:     storagev1alpha1.SnapshotStatus{Phase: phase, SnapshotTime: &metav1.Time{Time: at}, Components: map[string]storagev1alpha1.Component{}},
	}
	for _, c := range comps {
		s.Status.Components[c] = storagev1alpha1.Component{Phase: storagev1alpha1.ComponentSucceeded}
	}
	return s
}

// A PVC "data", Repository "repo" on BackupStorage "s3", two Succeeded
// Snapshots (old, new) and a Failed newer one, the pvc-addon's restore task,
// and RestoreSession "restore" of snapshot (name or latest).
func setup(snap string, mod ...func(*corev1alpha1.RestoreSession)) ([]runtime.Object, []runtime.Object) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	rs := &corev1alpha1.RestoreSession{
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "restore", UID: "uid-rs"},
		Spec: corev1alpha1.RestoreSessionSpec{
			DataSource: corev1alpha1.RestoreDataSource{Repository: "repo", Snapshot: snap, EncryptionSecret: common.ObjectReference{Name: "pw"}},
			Addon:      corev1alpha1.AddonInfo{Name: "pvc-addon", Tasks: []corev1alpha1.TaskReference{{Name: "logical-backup-restore"}}},
		},
	}
	for _, m := range mod {
		m(rs)
	}
	return []runtime.Object{&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "data"}}},
		[]runtime.Object{rs,
			&storagev1alpha1.Repository{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "repo"},
				Spec: storagev1alpha1.RepositorySpec{StorageRef: common.ObjectReference{Name: "s3"}, EncryptionSecret: common.ObjectReference{Name: "pw"}}},
			&storagev1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "s3"},
				Spec: storagev1alpha1.BackupStorageSpec{Storage: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderS3, S3: &storagev1alpha1.S3Spec{Bucket: "b", SecretName: "creds"}}}},
			snapshot("old", t0, storagev1alpha1.SnapshotSucceeded, jobs.ComponentDump),
			snapshot("new", t0.Add(time.Hour), storagev1alpha1.SnapshotSucceeded, jobs.ComponentDump),
			snapshot("broken", t0.Add(2*time.Hour), storagev1alpha1.SnapshotFailed),
			&addonsv1alpha1.Addon{ObjectMeta: metav1.ObjectMeta{Name: "pvc-addon"}, Spec: addonsv1alpha1.AddonSpec{RestoreTasks: []addonsv1alpha1.Task{{
				Name: "logical-backup-restore", Function: "cairn-restore"}}}},
			&addonsv1alpha1.Function{ObjectMeta: metav1.ObjectMeta{Name: "cairn-restore"}, Spec: addonsv1alpha1.FunctionSpec{
				Image: "${CAIRN_IMAGE}", Command: []string{"/cairn"}, Args: []string{"restore", "--namespace=${NAMESPACE}", "--restore-session=${RESTORE_SESSION}"}}},
		}
}

func TestLatestIsRestoredIntoTheTarget(t *testing.T) {
	k, c := setup(corev1alpha1.LatestSnapshot)
	f := newFixture(t, k, c)
	rs := f.sync()
	if !strings.Contains(condMessage(rs, corev1alpha1.ConditionSnapshotFound), "Snapshot new") {
		t.Fatalf("latest should be the newest Succeeded Snapshot: %+v", rs.Status.Conditions)
	}
	job, err := f.Kube.BatchV1().Jobs("app").Get(f.Ctx, names.RestoreJob("restore", jobs.ComponentDump), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctr := job.Spec.Template.Spec.Containers[0]
	if got := strings.Join(ctr.Args, " "); got != "restore --namespace=app --restore-session=restore --snapshot=new --component=dump" {
		t.Fatalf("args %q", got)
	}
	if len(ctr.VolumeMounts) != 1 || ctr.VolumeMounts[0].MountPath != jobs.PVCMountPath || ctr.VolumeMounts[0].ReadOnly {
		t.Fatalf("the target must be mounted read-write at %s: %+v", jobs.PVCMountPath, ctr.VolumeMounts)
	}
	role, err := f.Kube.RbacV1().Roles("app").Get(f.Ctx, jobs.RunnerServiceAccount("restore", "restore"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]string{}
	for _, r := range role.Rules {
		rules[r.Resources[0]] = strings.Join(r.Verbs, ",") + ":" + strings.Join(r.ResourceNames, ",")
	}
	if rules["restoresessions/status"] != "get,patch:restore" || rules["snapshots"] != "get:new" || rules["secrets"] != "get:creds,pw" {
		t.Fatalf("runner Role rules %v", rules)
	}
	// The runner reports success.
	rs.Status.Components = map[string]corev1alpha1.ComponentRestoreStatus{jobs.ComponentDump: {Phase: storagev1alpha1.ComponentSucceeded}}
	if _, err := f.Cairn.CoreV1alpha1().RestoreSessions("app").UpdateStatus(f.Ctx, rs, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.Refresh()
	if rs = f.sync(); rs.Status.Phase != corev1alpha1.RestoreSucceeded {
		t.Fatalf("phase %s", rs.Status.Phase)
	}
}

func TestRestoresThatCannotRunSayWhy(t *testing.T) {
	cases := []struct {
		name string
		snap string
		mod  func(*corev1alpha1.RestoreSession)
		msg  string
	}{
		{"no such snapshot", "nope", nil, "Snapshot app/nope does not exist"},
		{"missing component", "old", func(rs *corev1alpha1.RestoreSession) { rs.Spec.DataSource.Components = []string{"dump-pod-3"} }, `no restorable component "dump-pod-3" (it has dump)`},
		{"no repository", "old", func(rs *corev1alpha1.RestoreSession) { rs.Spec.DataSource.Repository = "gone" }, "Repository app/gone does not exist"},
		{"no restore task", "old", func(rs *corev1alpha1.RestoreSession) { rs.Spec.Addon.Tasks[0].Name = "x" }, "none of the restore tasks"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mods []func(*corev1alpha1.RestoreSession)
			if tc.mod != nil {
				mods = append(mods, tc.mod)
			}
			k, c := setup(tc.snap, mods...)
			rs := newFixture(t, k, c).sync()
			all := ""
			for _, c := range rs.Status.Conditions {
				all += c.Message + "|"
			}
			if rs.Status.Phase != corev1alpha1.RestoreFailed || !strings.Contains(all, tc.msg) {
				t.Fatalf("phase %s, conditions %q; want Failed mentioning %q", rs.Status.Phase, all, tc.msg)
			}
		})
	}
}

func TestFailedRestoreJobFailsTheSession(t *testing.T) {
	k, c := setup("old")
	f := newFixture(t, k, c)
	f.sync()
	name := names.RestoreJob("restore", jobs.ComponentDump)
	j, _ := f.Kube.BatchV1().Jobs("app").Get(f.Ctx, name, metav1.GetOptions{})
	j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded"}}
	if _, err := f.Kube.BatchV1().Jobs("app").UpdateStatus(f.Ctx, j, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.Refresh()
	rs := f.sync()
	if rs.Status.Phase != corev1alpha1.RestoreFailed || !strings.Contains(rs.Status.Components[jobs.ComponentDump].Error, "BackoffLimitExceeded") {
		t.Fatalf("phase %s, components %+v", rs.Status.Phase, rs.Status.Components)
	}
}

func condMessage(rs *corev1alpha1.RestoreSession, t string) string {
	for _, c := range rs.Status.Conditions {
		if c.Type == t {
			return c.Message
		}
	}
	return ""
}
