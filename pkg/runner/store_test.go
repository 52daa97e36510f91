package runner

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/test/objstore"
)

// minioFixture is the fixture on a BackupStorage in MinIO whose
// credentials Secret lives in the storage's namespace, not the
// application's, as a shared storage's does.
func minioFixture(t *testing.T) (*fixture, *objstore.Server) {
	srv := objstore.StartT(t, objstore.StartMinIO)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.CreateBucket(ctx, "backups"); err != nil {
		t.Fatal(err)
	}
	bs := &storagev1.BackupStorage{
		ObjectMeta: metav1.ObjectMeta{Namespace: storageNS, Name: "minio"},
		Spec: storagev1.BackupStorageSpec{Storage: storagev1.Backend{Provider: storagev1.ProviderS3,
			S3: &storagev1.S3Spec{Endpoint: srv.Endpoint, Bucket: "backups", Prefix: "cluster-a", Region: srv.Region, SecretName: "minio-creds"}}},
	}
	creds := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: storageNS, Name: "minio-creds"},
		Data: map[string][]byte{blob.KeyAWSAccessKeyID: []byte(srv.AccessKey), blob.KeyAWSSecretAccessKey: []byte(srv.SecretKey)}}
	return newFixture(t, bs, creds), srv
}

func TestBackupAndRestoreOnMinIO(t *testing.T) {
	f, srv := minioFixture(t)
	ctx := context.Background()
	first := f.backedUp("s1", time.Unix(1700000000, 0))
	randomFile(t, filepath.Join(f.data, "img", "photo.raw"), 5<<20)
	second := f.backedUp("s2", time.Unix(1700003600, 0))
	if second.Parent != first.SnapshotID {
		t.Fatalf("second backup's parent %q, want %s", second.Parent, first.SnapshotID)
	}
	if s := f.component("s2", "dump").Stats; s.NewFiles != 1 || s.UnmodifiedFiles != 4 {
		t.Fatalf("second stats %+v", s)
	}

	// The engine repository is where the CLI finds it from the storage.
	b, err := srv.OpenBucket(ctx, "backups")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if ok, err := b.Exists(ctx, "cluster-a/shop/deployment/shop/config"); err != nil || !ok {
		t.Fatalf("no engine repository at cluster-a/shop/deployment/shop: %v", err)
	}

	target := t.TempDir()
	if _, err := f.runner.Restore(ctx, RestoreRequest{Namespace: appNS, RestoreSession: f.restoreSession("r1", "latest", encSecret), Component: "dump", TargetPath: target}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, f.data, filepath.Join(target, f.data))
}

func TestWrongCredentialsOnMinIOSayWhatToFix(t *testing.T) {
	f, _ := minioFixture(t)
	ctx := context.Background()
	s, err := f.kube.CoreV1().Secrets(storageNS).Get(ctx, "minio-creds", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Data[blob.KeyAWSSecretAccessKey] = []byte("not-the-secret-key")
	f.kube.CoreV1().Secrets(storageNS).Update(ctx, s, metavUpdate)
	_, err = f.runner.Backup(ctx, f.backupRequest(f.snapshot("s1"), "dump"))
	c := f.component("s1", "dump")
	if err == nil || c.Phase != storagev1.ComponentFailed || !strings.Contains(c.Error, "rejected the credentials") {
		t.Fatalf("err %v, component %+v", err, c)
	}
	t.Logf("status error: %s", c.Error)
	if strings.Contains(c.Error, "not-the-secret-key") {
		t.Fatalf("the secret key is in the status: %q", c.Error)
	}
}

func TestUnreachableStoreSaysSo(t *testing.T) {
	bs := &storagev1.BackupStorage{
		ObjectMeta: metav1.ObjectMeta{Namespace: storageNS, Name: "gone"},
		Spec: storagev1.BackupStorageSpec{Storage: storagev1.Backend{Provider: storagev1.ProviderS3,
			S3: &storagev1.S3Spec{Endpoint: "http://127.0.0.1:1", Bucket: "backups", Region: "us-east-1", SecretName: "creds"}}},
	}
	creds := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: storageNS, Name: "creds"},
		Data: map[string][]byte{blob.KeyAWSAccessKeyID: []byte("id"), blob.KeyAWSSecretAccessKey: []byte("key")}}
	f := newFixture(t, bs, creds)
	f.runner.Retry = backend.RetryPolicy{Attempts: 2, Initial: 10 * time.Millisecond, Max: 10 * time.Millisecond}
	_, err := f.runner.Backup(context.Background(), f.backupRequest(f.snapshot("s1"), "dump"))
	c := f.component("s1", "dump")
	t.Logf("status error: %s", c.Error)
	if err == nil || c.Phase != storagev1.ComponentFailed || !strings.Contains(c.Error, "the endpoint does not answer") {
		t.Fatalf("err %v, component %+v", err, c)
	}
}
