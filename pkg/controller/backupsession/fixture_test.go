package backupsession

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	addonsv1alpha1 "github.com/cairnbackup/cairn/pkg/apis/addons/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller/internal/controllertest"
	"github.com/cairnbackup/cairn/pkg/jobs"
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
	c.now = func() time.Time { return f.Now }
	f.Refresh()
	return f
}

func (f *fixture) sync(name string) []clienttesting.Action {
	f.t.Helper()
	writes, err := f.Sync(func() error {
		_, err := f.c.sync(f.Ctx, cache.ObjectName{Namespace: "app", Name: name})
		return err
	})
	if err != nil {
		f.t.Fatalf("sync %s: %v", name, err)
	}
	return writes
}

func (f *fixture) session(name string) *corev1alpha1.BackupSession {
	f.t.Helper()
	bs, err := f.Cairn.CoreV1alpha1().BackupSessions("app").Get(f.Ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return bs
}

func (f *fixture) snapshot(name string) *storagev1alpha1.Snapshot {
	f.t.Helper()
	s, err := f.Cairn.StorageV1alpha1().Snapshots("app").Get(f.Ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// setComponent writes a component's state as the runner would.
func (f *fixture) setComponent(snapshot, comp string, phase storagev1alpha1.ComponentPhase, msg string) {
	f.t.Helper()
	s := f.snapshot(snapshot)
	if s.Status.Components == nil {
		s.Status.Components = map[string]storagev1alpha1.Component{}
	}
	s.Status.Components[comp] = storagev1alpha1.Component{Phase: phase, Error: msg}
	if _, err := f.Cairn.StorageV1alpha1().Snapshots("app").UpdateStatus(f.Ctx, s, metav1.UpdateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	f.Refresh()
}

// setJob sets a backup Job's condition, as the Job controller would.
func (f *fixture) setJob(name string, cond batchv1.JobConditionType) {
	f.t.Helper()
	j, err := f.Kube.BatchV1().Jobs("app").Get(f.Ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{Type: cond, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"})
	now := metav1.NewTime(f.Now)
	j.Status.CompletionTime = &now
	if _, err := f.Kube.BatchV1().Jobs("app").UpdateStatus(f.Ctx, j, metav1.UpdateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	f.Refresh()
}

func ptr[T any](v T) *T { return &v }

// A PVC "data", a Ready config "web" backing it up daily into Ready
// Repository "web-repo" on BackupStorage "s3", the pvc-addon and the
// cairn-backup Function, and the session "web-daily-1".
func setup(mods ...func(*corev1alpha1.BackupConfiguration)) ([]runtime.Object, []runtime.Object) {
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}}}
	bc := &corev1alpha1.BackupConfiguration{
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web"},
		Spec: corev1alpha1.BackupConfigurationSpec{
			Target: common.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "data"},
			Sessions: []corev1alpha1.Session{{Name: "daily", Scheduler: corev1alpha1.SchedulerSpec{Schedule: "@daily"},
				BackupTimeout: &metav1.Duration{Duration: time.Hour},
				Addon:         corev1alpha1.AddonInfo{Name: "pvc-addon", Tasks: []corev1alpha1.TaskReference{{Name: "logical-backup"}}},
				Repositories:  []corev1alpha1.RepositoryInfo{{Name: "web-repo", Directory: "web", EncryptionSecret: common.ObjectReference{Name: "pw"}}}}},
		},
		Status: corev1alpha1.BackupConfigurationStatus{Phase: corev1alpha1.BackupConfigurationReady},
	}
	for _, m := range mods {
		m(bc)
	}
	repo := &storagev1alpha1.Repository{
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web-repo", UID: "uid-repo"},
		Spec: storagev1alpha1.RepositorySpec{StorageRef: common.ObjectReference{Namespace: "infra", Name: "s3"}, Path: "web",
			EncryptionSecret: common.ObjectReference{Namespace: "app", Name: "pw"}, DeletionPolicy: storagev1alpha1.RepositoryDeletionDelete},
		Status: storagev1alpha1.RepositoryStatus{Phase: storagev1alpha1.RepositoryReady},
	}
	storage := &storagev1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "s3"},
		Spec: storagev1alpha1.BackupStorageSpec{Storage: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderS3,
			S3: &storagev1alpha1.S3Spec{Bucket: "b", SecretName: "s3-creds"}}},
		Status: storagev1alpha1.BackupStorageStatus{Phase: storagev1alpha1.BackupStorageReady}}
	addon := &addonsv1alpha1.Addon{ObjectMeta: metav1.ObjectMeta{Name: "pvc-addon"}, Spec: addonsv1alpha1.AddonSpec{BackupTasks: []addonsv1alpha1.Task{{
		Name: "logical-backup", Function: "cairn-backup", Driver: addonsv1alpha1.DriverCairn,
		Parameters:     []common.ParameterDefinition{{Name: "paths", Default: jobs.PVCMountPath}, {Name: "exclude"}},
		VolumeTemplate: []addonsv1alpha1.VolumeTemplate{{Name: "scratch", Source: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		VolumeMounts:   []corev1.VolumeMount{{Name: "scratch", MountPath: "/tmp"}},
	}}}}
	fn := &addonsv1alpha1.Function{ObjectMeta: metav1.ObjectMeta{Name: "cairn-backup"}, Spec: addonsv1alpha1.FunctionSpec{
		Image: "${CAIRN_IMAGE}", Command: []string{"/cairn"},
		Args: []string{"backup", "--namespace=${NAMESPACE}", "--backup-session=${BACKUP_SESSION}", "--paths=${paths}", "--exclude=${exclude:=}"}}}
	bs := &corev1alpha1.BackupSession{
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web-daily-1", UID: "uid-bs", CreationTimestamp: metav1.NewTime(time.Date(2026, 12, 3, 10, 29, 0, 0, time.UTC))},
		Spec:       corev1alpha1.BackupSessionSpec{Invoker: common.TypedLocalObjectReference{APIGroup: corev1alpha1.GroupName, Kind: "BackupConfiguration", Name: "web"}, Session: "daily"},
	}
	return []runtime.Object{pvc}, []runtime.Object{bc, repo, storage, addon, fn, bs}
}

func hasCondition(bs *corev1alpha1.BackupSession, t string, status metav1.ConditionStatus, msg string) bool {
	for _, c := range bs.Status.Conditions {
		if c.Type == t && c.Status == status && strings.Contains(c.Message, msg) {
			return true
		}
	}
	return false
}
