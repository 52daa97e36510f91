package backupconfiguration

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	cairnfake "github.com/cairnbackup/cairn/client/clientset/versioned/fake"
	addonsv1alpha1 "github.com/cairnbackup/cairn/pkg/apis/addons/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller/internal/controllertest"
)

// fixture is the controller on the shared controllertest fakes.
type fixture struct {
	*controllertest.Fixture
	t     *testing.T
	ctx   context.Context
	kube  *kubefake.Clientset
	cairn *cairnfake.Clientset
	c     *Controller
}

func newFixture(t *testing.T, kubeObjs, cairnObjs []runtime.Object) *fixture {
	base := controllertest.New(t, kubeObjs, cairnObjs)
	c, err := New(base.Deps)
	if err != nil {
		t.Fatal(err)
	}
	c.now = func() time.Time { return base.Now }
	f := &fixture{Fixture: base, t: t, ctx: base.Ctx, kube: base.Kube, cairn: base.Cairn, c: c}
	f.refresh()
	return f
}

func (f *fixture) refresh() { f.Refresh() }

// sync runs one sync of ns/name and returns the write actions it made.
func (f *fixture) sync(ns, name string) ([]clienttesting.Action, error) {
	f.t.Helper()
	return f.Sync(func() error {
		_, err := f.c.sync(f.ctx, cache.ObjectName{Namespace: ns, Name: name})
		return err
	})
}

func (f *fixture) config(ns, name string) *corev1alpha1.BackupConfiguration {
	f.t.Helper()
	bc, err := f.cairn.CoreV1alpha1().BackupConfigurations(ns).Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return bc
}

// setRepositoryReady marks a Repository Ready, as its own controller would.
func (f *fixture) setRepositoryReady(ns, name string) {
	f.t.Helper()
	r, err := f.cairn.StorageV1alpha1().Repositories(ns).Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	r.Status.Phase = storagev1alpha1.RepositoryReady
	if _, err := f.cairn.StorageV1alpha1().Repositories(ns).UpdateStatus(f.ctx, r, metav1.UpdateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	f.refresh()
}

// Objects of a working setup in namespace "app": a Deployment, a Ready
// BackupStorage "s3" and a RetentionPolicy "keep" (both default), the
// workload addon with its Function, and a config "web" backing it up daily.

func ptr[T any](v T) *T { return &v }

func deployment() *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web"}}
}

func namespace(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

func storage(ns, name string, isDefault bool) *storagev1alpha1.BackupStorage {
	return &storagev1alpha1.BackupStorage{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: storagev1alpha1.BackupStorageSpec{Default: isDefault, Storage: storagev1alpha1.Backend{
			Provider: storagev1alpha1.ProviderS3, S3: &storagev1alpha1.S3Spec{Bucket: "b"}}},
		Status: storagev1alpha1.BackupStorageStatus{Phase: storagev1alpha1.BackupStorageReady},
	}
}

func policy(ns, name string, isDefault bool) *storagev1alpha1.RetentionPolicy {
	return &storagev1alpha1.RetentionPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       storagev1alpha1.RetentionPolicySpec{Default: isDefault, MaxRetentionPeriod: "30d"},
	}
}

func addon() *addonsv1alpha1.Addon {
	return &addonsv1alpha1.Addon{
		ObjectMeta: metav1.ObjectMeta{Name: "workload-addon"},
		Spec: addonsv1alpha1.AddonSpec{BackupTasks: []addonsv1alpha1.Task{{
			Name: "logical-backup", Function: "workload-backup",
			Parameters: []common.ParameterDefinition{{Name: "paths", Required: true}, {Name: "exclude"}},
		}}},
	}
}

func function() *addonsv1alpha1.Function {
	return &addonsv1alpha1.Function{ObjectMeta: metav1.ObjectMeta{Name: "workload-backup"}}
}

func backupConfig(backends bool) *corev1alpha1.BackupConfiguration {
	bc := &corev1alpha1.BackupConfiguration{
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web", UID: "uid-web", Generation: 1},
		Spec: corev1alpha1.BackupConfigurationSpec{
			Target: common.TypedObjectReference{APIGroup: "apps", Kind: "Deployment", Name: "web"},
			Sessions: []corev1alpha1.Session{{
				Name:      "daily",
				Scheduler: corev1alpha1.SchedulerSpec{Schedule: "0 2 * * *", TimeZone: ptr("UTC")},
				Addon: corev1alpha1.AddonInfo{Name: "workload-addon", Tasks: []corev1alpha1.TaskReference{
					{Name: "logical-backup", Params: map[string]string{"paths": "/data"}}}},
				Repositories: []corev1alpha1.RepositoryInfo{{Name: "web-repo", Directory: "app/web",
					EncryptionSecret: common.ObjectReference{Name: "pw"}}},
			}},
		},
	}
	if backends {
		bc.Spec.Backends = []corev1alpha1.BackendReference{{Name: "s3",
			StorageRef: common.ObjectReference{Name: "s3"}, RetentionPolicy: common.ObjectReference{Name: "keep"}}}
	}
	return bc
}

func workingSetup(bc *corev1alpha1.BackupConfiguration, extra ...runtime.Object) ([]runtime.Object, []runtime.Object) {
	return []runtime.Object{deployment(), namespace("app", nil)},
		append([]runtime.Object{bc, storage("app", "s3", true), policy("app", "keep", true), addon(), function()}, extra...)
}
