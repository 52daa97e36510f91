// Package kind runs the shared e2e stories (test/e2e) on a kind cluster
// with the CSI hostpath driver, as run.sh sets it up on a machine with
// Docker. Without CAIRN_E2E_KUBECONFIG every test skips, so `go test ./...`
// compiles and vets this package everywhere; the stories themselves also run
// on the project's local cluster (test/integration), so they stay correct
// even where this suite cannot run.
package kind

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/test/e2e"
)

// Settings, from the environment run.sh exports; the defaults are what
// run.sh installs.
var (
	kubeconfig    = os.Getenv("CAIRN_E2E_KUBECONFIG")
	storageClass  = env("CAIRN_E2E_STORAGE_CLASS", "csi-hostpath-sc")
	snapshotClass = env("CAIRN_E2E_SNAPSHOT_CLASS", "csi-hostpath-snapclass")
	nonCSIClass   = env("CAIRN_E2E_NON_CSI_CLASS", "standard")
	shellImage    = env("CAIRN_E2E_SHELL_IMAGE", "busybox:1.36")
	// The in-cluster MinIO that run.sh deploys, and its bucket.
	s3Endpoint = env("CAIRN_E2E_S3_ENDPOINT", "http://minio.cairn-e2e.svc:9000")
	s3Bucket   = env("CAIRN_E2E_S3_BUCKET", "cairn-e2e")
	s3Key      = env("CAIRN_E2E_S3_ACCESS_KEY", "cairn-e2e")
	s3Secret   = env("CAIRN_E2E_S3_SECRET_KEY", "cairn-e2e-secret")
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// newEnv connects to the cluster and makes the test's namespace with a
// default BackupStorage on the in-cluster MinIO, a default RetentionPolicy
// and the repositories' password Secret. The namespace goes with the test.
func newEnv(ctx context.Context, t *testing.T) *e2e.Env {
	t.Helper()
	if kubeconfig == "" {
		t.Skip("CAIRN_E2E_KUBECONFIG is not set: run test/e2e/kind/run.sh on a machine with Docker")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	e := &e2e.Env{StorageClass: storageClass, SnapshotClass: snapshotClass, Storage: "minio", PasswordSecret: "password",
		ShellImage: shellImage, PullPolicy: corev1.PullIfNotPresent}
	if err := e.Clients(cfg); err != nil {
		t.Fatal(err)
	}
	e.Namespace = fmt.Sprintf("e2e-%s-%d", strings.ToLower(strings.TrimPrefix(t.Name(), "Test")), time.Now().Unix())
	if _, err := e.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.Namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.Kube.CoreV1().Namespaces().Delete(ctx, e.Namespace, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting namespace %s: %v", e.Namespace, err)
		}
	})
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "s3"}, StringData: map[string]string{"AWS_ACCESS_KEY_ID": s3Key, "AWS_SECRET_ACCESS_KEY": s3Secret}},
		{ObjectMeta: metav1.ObjectMeta{Name: "password"}, StringData: map[string]string{"CAIRN_PASSWORD": "e2e"}},
	} {
		if _, err := e.Kube.CoreV1().Secrets(e.Namespace).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	st := &storagev1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Name: "minio"},
		Spec: storagev1alpha1.BackupStorageSpec{Default: true, DeletionPolicy: storagev1alpha1.DeletionPolicyWipeOut,
			Storage: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderS3, S3: &storagev1alpha1.S3Spec{
				Endpoint: s3Endpoint, Bucket: s3Bucket, Prefix: e.Namespace, Region: "us-east-1", SecretName: "s3"}}}}
	if _, err := e.Cairn.StorageV1alpha1().BackupStorages(e.Namespace).Create(ctx, st, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rp := &storagev1alpha1.RetentionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "keep"},
		Spec: storagev1alpha1.RetentionPolicySpec{Default: true, MaxRetentionPeriod: "30d"}}
	if _, err := e.Cairn.StorageV1alpha1().RetentionPolicies(e.Namespace).Create(ctx, rp, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestVolumeSnapshotStatefulSet(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	e2e.VolumeSnapshotStatefulSet(ctx, t, newEnv(ctx, t))
}

func TestVolumeSnapshotErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	e2e.VolumeSnapshotErrors(ctx, t, newEnv(ctx, t), nonCSIClass)
}

func TestVolumeSnapshotRetention(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	e2e.VolumeSnapshotRetention(ctx, t, newEnv(ctx, t))
}

func TestVolumeSnapshotExport(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	e2e.VolumeSnapshotExport(ctx, t, newEnv(ctx, t))
}
