//go:build integration

package integration

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gcblob "gocloud.dev/blob"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/test/cluster"
	"github.com/cairnbackup/cairn/test/objstore"
	"github.com/cairnbackup/cairn/test/operatortest"
)

// storageBucket is the MinIO bucket the storage tests use; each test has its
// own MinIO and its own namespace, whose name is the storage prefix.
const storageBucket = "cairn"

// storageEnv is a namespace with a MinIO on the cluster bridge (reachable
// from the operator's pod), a credentials Secret "s3" and a password Secret
// "password", for tests of the BackupStorage and Repository controllers as
// deployed.
type storageEnv struct {
	operatortest.Clients
	ns     string
	minio  *objstore.Server
	bucket *gcblob.Bucket
}

func newStorageEnv(ctx context.Context, t *testing.T) *storageEnv {
	t.Helper()
	e := &storageEnv{Clients: operatortest.Connect(t)}
	e.ns = e.Cluster.Namespace(t)
	m, err := objstore.StartMinIO(ctx, cluster.BridgeIP()+":0")
	if err != nil {
		t.Fatal(err)
	}
	e.minio = m
	t.Cleanup(func() { _ = m.Stop() })
	if err := m.CreateBucket(ctx, storageBucket); err != nil {
		t.Fatal(err)
	}
	if e.bucket, err = m.OpenBucket(ctx, storageBucket); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.bucket.Close() })
	e.secret(ctx, t, e.ns, "s3", map[string]string{blob.KeyAWSAccessKeyID: m.AccessKey, blob.KeyAWSSecretAccessKey: m.SecretKey})
	e.secret(ctx, t, e.ns, "password", map[string]string{"CAIRN_PASSWORD": "integration"})
	return e
}

// secret creates or replaces a Secret.
func (e *storageEnv) secret(ctx context.Context, t *testing.T, ns, name string, data map[string]string) {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: data}
	_, err := e.Kube.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = e.Kube.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatalf("Secret %s/%s: %v", ns, name, err)
	}
}

// s3Storage is a BackupStorage on the env's MinIO under prefix, with the
// credentials of Secret "s3".
func (e *storageEnv) s3Storage(name, bucket, prefix string, policy storagev1alpha1.BackupStorageDeletionPolicy) *storagev1alpha1.BackupStorage {
	return &storagev1alpha1.BackupStorage{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: storagev1alpha1.BackupStorageSpec{DeletionPolicy: policy,
			Storage: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderS3, S3: &storagev1alpha1.S3Spec{
				Endpoint: e.minio.Endpoint, Bucket: bucket, Prefix: prefix, Region: e.minio.Region, SecretName: "s3"}}},
	}
}

func (e *storageEnv) createStorage(ctx context.Context, t *testing.T, ns string, bs *storagev1alpha1.BackupStorage) {
	t.Helper()
	if _, err := e.Cairn.StorageV1alpha1().BackupStorages(ns).Create(ctx, bs, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating BackupStorage %s/%s: %v", ns, bs.Name, err)
	}
}

// waitStorage waits for a condition of a BackupStorage and returns it.
func (e *storageEnv) waitStorage(ctx context.Context, t *testing.T, ns, name, cond string, status metav1.ConditionStatus) *storagev1alpha1.BackupStorage {
	t.Helper()
	bs, err := operatortest.WaitCondition(ctx, e.Cairn.StorageV1alpha1().BackupStorages(ns).Get, name, cond, status, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

// waitReason waits until an object's condition has reason (for its current
// generation), and returns the condition.
func waitReason[T runtime.Object](ctx context.Context, t *testing.T, get operatortest.Getter[T], name, cond, reason string) metav1.Condition {
	t.Helper()
	var got metav1.Condition
	_, err := operatortest.Until(ctx, time.Minute, name+" condition "+cond+" with reason "+reason,
		func(ctx context.Context) (T, error) { return get(ctx, name, metav1.GetOptions{}) },
		func(obj T) (bool, string) {
			gen, conds, err := operatortest.Conditions(obj)
			if err != nil {
				return false, err.Error()
			}
			c := meta.FindStatusCondition(conds, cond)
			if c == nil {
				return false, "no condition " + cond
			}
			got = *c
			return c.Reason == reason && c.ObservedGeneration == gen, c.Reason + ": " + c.Message
		})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// read returns an object of the bucket, failing the test if it is missing.
func (e *storageEnv) read(ctx context.Context, t *testing.T, key string) []byte {
	t.Helper()
	data, err := e.bucket.ReadAll(ctx, key)
	if err != nil {
		t.Fatalf("reading %s from the bucket: %v", key, err)
	}
	return data
}

// keys lists the bucket's keys under prefix.
func (e *storageEnv) keys(ctx context.Context, t *testing.T, prefix string) []string {
	t.Helper()
	var out []string
	it := e.bucket.List(&gcblob.ListOptions{Prefix: prefix})
	for {
		o, err := it.Next(ctx)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("listing %s: %v", prefix, err)
		}
		out = append(out, o.Key)
	}
}

func (e *storageEnv) put(ctx context.Context, t *testing.T, key string) {
	t.Helper()
	if err := e.bucket.WriteAll(ctx, key, []byte("data of "+key), nil); err != nil {
		t.Fatal(err)
	}
}

// waitGone waits until get answers NotFound.
func waitGone[T any](ctx context.Context, t *testing.T, what string, timeout time.Duration, get func(context.Context) (T, error)) {
	t.Helper()
	_, err := operatortest.Until(ctx, timeout, what+" to be gone",
		func(ctx context.Context) (error, error) {
			_, err := get(ctx)
			return err, nil
		},
		func(err error) (bool, string) {
			if err == nil {
				return false, "still there"
			}
			return apierrors.IsNotFound(err), err.Error()
		})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBackupStorageInitializes: a storage on MinIO becomes Ready and writes
// <prefix>/metadata.yaml naming this cluster and this BackupStorage.
func TestBackupStorageInitializes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := newStorageEnv(ctx, t)
	e.createStorage(ctx, t, e.ns, e.s3Storage("minio", storageBucket, e.ns, storagev1alpha1.DeletionPolicyDelete))
	bs := e.waitStorage(ctx, t, e.ns, "minio", storagev1alpha1.ConditionStorageInitialized, metav1.ConditionTrue)
	if bs.Status.Phase != storagev1alpha1.BackupStorageReady {
		t.Fatalf("phase %s, want Ready; conditions %+v", bs.Status.Phase, bs.Status.Conditions)
	}
	m, err := blob.ParseStorageMetadata(e.read(ctx, t, e.ns+"/"+blob.MetadataKey))
	if err != nil {
		t.Fatal(err)
	}
	kubeSystem, err := e.Kube.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Cluster != string(kubeSystem.UID) || m.BackupStorage.UID != bs.UID || m.BackupStorage.Namespace != e.ns {
		t.Fatalf("metadata.yaml %+v does not name this cluster (%s) and BackupStorage (%s)", m, kubeSystem.UID, bs.UID)
	}
}

// TestBackupStorageWrongCredentials: a wrong access key and a wrong secret
// key are each NotReady with a condition naming the store's code; fixing the
// Secret, without touching the BackupStorage, makes it Ready.
func TestBackupStorageWrongCredentials(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	e := newStorageEnv(ctx, t)
	good := map[string]string{blob.KeyAWSAccessKeyID: e.minio.AccessKey, blob.KeyAWSSecretAccessKey: e.minio.SecretKey}
	e.secret(ctx, t, e.ns, "s3", map[string]string{blob.KeyAWSAccessKeyID: "nobody", blob.KeyAWSSecretAccessKey: e.minio.SecretKey})
	e.createStorage(ctx, t, e.ns, e.s3Storage("minio", storageBucket, e.ns, storagev1alpha1.DeletionPolicyDelete))
	c := waitReason(ctx, t, e.Cairn.StorageV1alpha1().BackupStorages(e.ns).Get, "minio", storagev1alpha1.ConditionStorageInitialized, string(blob.ReasonCredentialsRejected))
	if !strings.Contains(c.Message, "InvalidAccessKeyId") || !strings.Contains(c.Message, "Secret s3") {
		t.Fatalf("wrong access key: condition %q, want the store's code InvalidAccessKeyId and the Secret named", c.Message)
	}
	e.secret(ctx, t, e.ns, "s3", map[string]string{blob.KeyAWSAccessKeyID: e.minio.AccessKey, blob.KeyAWSSecretAccessKey: "not-the-key"})
	_, err := operatortest.Until(ctx, time.Minute, "the condition to name SignatureDoesNotMatch",
		func(ctx context.Context) (*storagev1alpha1.BackupStorage, error) {
			return e.Cairn.StorageV1alpha1().BackupStorages(e.ns).Get(ctx, "minio", metav1.GetOptions{})
		},
		func(bs *storagev1alpha1.BackupStorage) (bool, string) {
			c := meta.FindStatusCondition(bs.Status.Conditions, storagev1alpha1.ConditionStorageInitialized)
			if c == nil {
				return false, "no condition"
			}
			return c.Reason == string(blob.ReasonCredentialsRejected) && strings.Contains(c.Message, "SignatureDoesNotMatch") &&
				bs.Status.Phase == storagev1alpha1.BackupStorageNotReady, c.Message
		})
	if err != nil {
		t.Fatal(err)
	}
	before, err := e.Cairn.StorageV1alpha1().BackupStorages(e.ns).Get(ctx, "minio", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The fix is picked up from the Secret's change, not the backoff (whose
	// second retry is 20 s away by now): well within the wait below.
	e.secret(ctx, t, e.ns, "s3", good)
	bs, err := operatortest.WaitCondition(ctx, e.Cairn.StorageV1alpha1().BackupStorages(e.ns).Get, "minio",
		storagev1alpha1.ConditionStorageInitialized, metav1.ConditionTrue, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if bs.Status.Phase != storagev1alpha1.BackupStorageReady || bs.Generation != before.Generation {
		t.Fatalf("after the Secret fix: phase %s, generation %d (was %d)", bs.Status.Phase, bs.Generation, before.Generation)
	}
	e.read(ctx, t, e.ns+"/"+blob.MetadataKey)
}

// TestBackupStorageMissingBucket: a bucket that does not exist is its own
// reason, and no other bucket is created for it.
func TestBackupStorageMissingBucket(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := newStorageEnv(ctx, t)
	e.createStorage(ctx, t, e.ns, e.s3Storage("minio", "no-such-bucket", e.ns, storagev1alpha1.DeletionPolicyDelete))
	c := waitReason(ctx, t, e.Cairn.StorageV1alpha1().BackupStorages(e.ns).Get, "minio", storagev1alpha1.ConditionStorageInitialized, string(blob.ReasonBucketNotFound))
	if !strings.Contains(c.Message, "bucket does not exist") {
		t.Fatalf("condition %q, want it to say the bucket does not exist", c.Message)
	}
	bs, err := e.Cairn.StorageV1alpha1().BackupStorages(e.ns).Get(ctx, "minio", metav1.GetOptions{})
	if err != nil || bs.Status.Phase != storagev1alpha1.BackupStorageNotReady {
		t.Fatalf("phase %v, err %v; want NotReady", bs.Status.Phase, err)
	}
	if sec := meta.FindStatusCondition(bs.Status.Conditions, storagev1alpha1.ConditionBackendSecretFound); sec == nil || sec.Status != metav1.ConditionTrue {
		t.Fatalf("BackendSecretFound %+v: the Secret is fine, only the bucket is missing", sec)
	}
}

// TestBackupStorageWipeOut: deleting a WipeOut storage removes every object
// under its prefix and nothing outside it.
func TestBackupStorageWipeOut(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := newStorageEnv(ctx, t)
	e.createStorage(ctx, t, e.ns, e.s3Storage("minio", storageBucket, e.ns, storagev1alpha1.DeletionPolicyWipeOut))
	e.waitStorage(ctx, t, e.ns, "minio", storagev1alpha1.ConditionStorageInitialized, metav1.ConditionTrue)
	for _, k := range []string{"/app/data/00", "/app/data/01", "/db/index/02"} {
		e.put(ctx, t, e.ns+k)
	}
	outside := e.ns + "-sibling/keep"
	e.put(ctx, t, outside)
	if err := e.Cairn.StorageV1alpha1().BackupStorages(e.ns).Delete(ctx, "minio", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(ctx, t, "BackupStorage minio", time.Minute, func(ctx context.Context) (*storagev1alpha1.BackupStorage, error) {
		return e.Cairn.StorageV1alpha1().BackupStorages(e.ns).Get(ctx, "minio", metav1.GetOptions{})
	})
	if left := e.keys(ctx, t, e.ns+"/"); len(left) != 0 {
		t.Fatalf("WipeOut left %v under the prefix", left)
	}
	e.read(ctx, t, outside)
}

// TestFinalizerNeverWedgesNamespace: a WipeOut storage whose Secret is
// deleted first cannot be wiped; deleting its namespace still completes in
// seconds (in a terminating namespace the Secret can never come back, so the
// finalizer gives up at once), and the data is left in place.
func TestFinalizerNeverWedgesNamespace(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := newStorageEnv(ctx, t)
	e.createStorage(ctx, t, e.ns, e.s3Storage("minio", storageBucket, e.ns, storagev1alpha1.DeletionPolicyWipeOut))
	e.waitStorage(ctx, t, e.ns, "minio", storagev1alpha1.ConditionStorageInitialized, metav1.ConditionTrue)
	if err := e.Kube.CoreV1().Secrets(e.ns).Delete(ctx, "s3", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := e.Kube.CoreV1().Namespaces().Delete(ctx, e.ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The namespace controller alone takes a few seconds; the operator's
	// ten-minute bound for a Secret that might come back does not apply.
	waitGone(ctx, t, "namespace "+e.ns, 90*time.Second, func(ctx context.Context) (*corev1.Namespace, error) {
		return e.Kube.CoreV1().Namespaces().Get(ctx, e.ns, metav1.GetOptions{})
	})
	t.Logf("namespace with a WipeOut storage and no Secret deleted in %s", time.Since(start).Round(100*time.Millisecond))
	e.read(ctx, t, e.ns+"/"+blob.MetadataKey) // left behind, as the abandoned cleanup said
}

// TestLocalStorage: a local BackupStorage on a PVC of the default
// StorageClass (local-path) is initialised, recorded into and wiped by
// Jobs that mount the volume; the test reads the volume's directory on the
// node (this machine) to see what they wrote.
func TestLocalStorage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := operatortest.Connect(t)
	e := &storageEnv{Clients: c, ns: c.Cluster.Namespace(t)}
	e.secret(ctx, t, e.ns, "password", map[string]string{"CAIRN_PASSWORD": "integration"})
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "backup"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("16Mi")}}}}
	if _, err := e.Kube.CoreV1().PersistentVolumeClaims(e.ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bs := &storagev1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Name: "local"},
		Spec: storagev1alpha1.BackupStorageSpec{DeletionPolicy: storagev1alpha1.DeletionPolicyWipeOut,
			Storage: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderLocal, Local: &storagev1alpha1.LocalSpec{
				MountPath: "/backup", SubPath: "cairn",
				VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "backup"}}}}}}
	e.createStorage(ctx, t, e.ns, bs)
	got, err := operatortest.WaitCondition(ctx, e.Cairn.StorageV1alpha1().BackupStorages(e.ns).Get, "local",
		storagev1alpha1.ConditionStorageInitialized, metav1.ConditionTrue, 2*time.Minute)
	if err != nil {
		t.Fatalf("%v\n%s", err, e.Cluster.Diagnose(ctx, e.ns, "app.kubernetes.io/managed-by=cairn"))
	}
	if got.Status.Phase != storagev1alpha1.BackupStorageReady {
		t.Fatalf("phase %s", got.Status.Phase)
	}
	root := filepath.Join(hostPathOf(ctx, t, e, "backup"), "cairn")
	m, err := blob.ParseStorageMetadata(readFile(t, filepath.Join(root, blob.MetadataKey)))
	if err != nil || m.BackupStorage.UID != got.UID {
		t.Fatalf("metadata.yaml on the volume: %+v, %v", m, err)
	}

	e.createRepository(ctx, t, e.ns, repository("web", "", "local", "apps/web", storagev1alpha1.RepositoryDeletionWipeOut))
	web, err := operatortest.WaitCondition(ctx, e.Cairn.StorageV1alpha1().Repositories(e.ns).Get, "web",
		storagev1alpha1.ConditionRepositoryInitialized, metav1.ConditionTrue, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := blob.ParseRepositoryMetadata(readFile(t, filepath.Join(root, "apps/web", blob.RepositoryFile))); err != nil || r.Repository.UID != web.UID {
		t.Fatalf("repository.yaml on the volume: %+v, %v", r, err)
	}
	e.createRepository(ctx, t, e.ns, repository("copy", "", "local", "apps/web", storagev1alpha1.RepositoryDeletionDelete))
	cond := waitReason(ctx, t, e.Cairn.StorageV1alpha1().Repositories(e.ns).Get, "copy", storagev1alpha1.ConditionRepositoryInitialized, "DirectoryOwned")
	if !strings.Contains(cond.Message, e.ns+"/web") {
		t.Fatalf("refusal %q does not name the owner", cond.Message)
	}
	if err := os.WriteFile(filepath.Join(root, "apps/web/config"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{"copy", "web"} {
		if err := e.Cairn.StorageV1alpha1().Repositories(e.ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitGone(ctx, t, "Repository "+name, 2*time.Minute, func(ctx context.Context) (*storagev1alpha1.Repository, error) {
			return e.Cairn.StorageV1alpha1().Repositories(e.ns).Get(ctx, name, metav1.GetOptions{})
		})
	}
	if left := filesUnder(t, filepath.Join(root, "apps/web")); len(left) != 0 {
		t.Fatalf("Repository WipeOut left %v", left)
	}
	if err := e.Cairn.StorageV1alpha1().BackupStorages(e.ns).Delete(ctx, "local", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(ctx, t, "BackupStorage local", 2*time.Minute, func(ctx context.Context) (*storagev1alpha1.BackupStorage, error) {
		return e.Cairn.StorageV1alpha1().BackupStorages(e.ns).Get(ctx, "local", metav1.GetOptions{})
	})
	if left := filesUnder(t, root); len(left) != 0 {
		t.Fatalf("BackupStorage WipeOut left %v", left)
	}
}

// hostPathOf is the directory on the node (this machine) of a bound PVC of
// the local-path StorageClass.
func hostPathOf(ctx context.Context, t *testing.T, e *storageEnv, claim string) string {
	t.Helper()
	pvc, err := e.Kube.CoreV1().PersistentVolumeClaims(e.ns).Get(ctx, claim, metav1.GetOptions{})
	if err != nil || pvc.Spec.VolumeName == "" {
		t.Fatalf("PVC %s not bound: %v", claim, err)
	}
	pv, err := e.Kube.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case pv.Spec.HostPath != nil:
		return pv.Spec.HostPath.Path
	case pv.Spec.Local != nil:
		return pv.Spec.Local.Path
	}
	t.Fatalf("PV %s is neither hostPath nor local: %+v", pv.Name, pv.Spec.PersistentVolumeSource)
	return ""
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// filesUnder lists the regular files under dir (none when it is gone).
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
