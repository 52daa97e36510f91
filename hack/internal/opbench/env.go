package opbench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/test/cluster"
	"github.com/cairnbackup/cairn/test/objstore"
)

// Env is a benchmark's namespace and clients, the operator it measures
// and the MinIO its BackupStorage uses.
type Env struct {
	Kube  kubernetes.Interface
	Cairn cairnclient.Interface
	NS    string
	Op    *Operator
	MinIO *objstore.Server
}

// Start attaches to the local cluster, finds the operator, starts MinIO
// on the cluster's bridge with a bucket "bench", and sets up namespace
// <prefix>-<unix seconds> on it (Setup). Close stops MinIO.
func Start(ctx context.Context, prefix string) (*Env, error) {
	cl, err := cluster.Attach(ctx, cluster.Options{})
	if err != nil {
		return nil, fmt.Errorf("%w (start it with `make cluster-up` and install Cairn with `make deploy`)", err)
	}
	b := &Env{Kube: cl.Client(), NS: fmt.Sprintf("%s-%d", prefix, time.Now().Unix())}
	if b.Cairn, err = cairnclient.NewForConfig(cl.RESTConfig()); err != nil {
		return nil, err
	}
	if b.Op, err = FindOperator(ctx, b.Kube); err != nil {
		return nil, err
	}
	if b.MinIO, err = objstore.StartMinIO(ctx, cluster.BridgeIP()+":0"); err != nil {
		return nil, err
	}
	if err := b.MinIO.CreateBucket(ctx, "bench"); err != nil {
		b.Close()
		return nil, err
	}
	if err := b.Setup(ctx, b.MinIO, "bench"); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// Close stops MinIO.
func (b *Env) Close() { _ = b.MinIO.Stop() }

// Setup makes the namespace, the credentials and password Secrets
// ("s3", "password" with CAIRN_PASSWORD bench-password), a default
// BackupStorage "minio" on srv's bucket under the namespace's prefix and a
// default RetentionPolicy "keep", and waits for the storage to be Ready.
func (b *Env) Setup(ctx context.Context, srv *objstore.Server, bucket string) error {
	if _, err := b.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: b.NS}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	secrets := []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "s3"}, StringData: map[string]string{"AWS_ACCESS_KEY_ID": srv.AccessKey, "AWS_SECRET_ACCESS_KEY": srv.SecretKey}},
		{ObjectMeta: metav1.ObjectMeta{Name: "password"}, StringData: map[string]string{"CAIRN_PASSWORD": "bench-password"}},
	}
	for _, s := range secrets {
		if _, err := b.Kube.CoreV1().Secrets(b.NS).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	st := &storagev1alpha1.BackupStorage{
		ObjectMeta: metav1.ObjectMeta{Name: "minio"},
		Spec: storagev1alpha1.BackupStorageSpec{
			Default: true, DeletionPolicy: storagev1alpha1.DeletionPolicyWipeOut,
			Storage: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderS3, S3: &storagev1alpha1.S3Spec{
				Endpoint: srv.Endpoint, Bucket: bucket, Prefix: b.NS, Region: srv.Region, SecretName: "s3"}},
		},
	}
	if _, err := b.Cairn.StorageV1alpha1().BackupStorages(b.NS).Create(ctx, st, metav1.CreateOptions{}); err != nil {
		return err
	}
	rp := &storagev1alpha1.RetentionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "keep"},
		Spec: storagev1alpha1.RetentionPolicySpec{Default: true, MaxRetentionPeriod: "30d"}}
	if _, err := b.Cairn.StorageV1alpha1().RetentionPolicies(b.NS).Create(ctx, rp, metav1.CreateOptions{}); err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		got, err := b.Cairn.StorageV1alpha1().BackupStorages(b.NS).Get(ctx, "minio", metav1.GetOptions{})
		if err == nil && got.Status.Phase == storagev1alpha1.BackupStorageReady {
			return nil
		}
		time.Sleep(time.Second)
	}
	return fmt.Errorf("BackupStorage %s/minio did not become Ready in 2 minutes", b.NS)
}

// Parallel runs f for 0..n-1 on workers goroutines and returns the first
// error.
func Parallel(ctx context.Context, n, workers int, f func(context.Context, int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(ctx, i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}
