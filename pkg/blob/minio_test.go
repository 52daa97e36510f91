package blob

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/test/objstore"
)

// s3Storage is a BackupStorage on srv's bucket with credentials Secret "creds".
func s3Storage(endpoint, bucket string) *storagev1.BackupStorage {
	return &storagev1.BackupStorage{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "minio"},
		Spec: storagev1.BackupStorageSpec{Storage: storagev1.Backend{Provider: storagev1.ProviderS3,
			S3: &storagev1.S3Spec{Endpoint: endpoint, Bucket: bucket, Prefix: "cluster-a", Region: "us-east-1", SecretName: "creds"}}},
	}
}

// secrets serves one Secret, or NotFound for any other name.
func secrets(s *corev1.Secret) SecretGetter {
	return func(_ context.Context, ns, name string) (*corev1.Secret, error) {
		if s == nil || s.Namespace != ns || s.Name != name {
			return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
		}
		return s, nil
	}
}

func awsSecret(id, key string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "creds"},
		Data: map[string][]byte{KeyAWSAccessKeyID: []byte(id), KeyAWSSecretAccessKey: []byte(key)}}
}

func TestOpenMinIO(t *testing.T) {
	srv := objstore.StartT(t, objstore.StartMinIO)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.CreateBucket(ctx, "backups"); err != nil {
		t.Fatal(err)
	}
	bs := s3Storage(srv.Endpoint, "backups")
	good := awsSecret(srv.AccessKey, srv.SecretKey)

	b, err := Open(ctx, bs, secrets(good))
	if err != nil {
		t.Fatalf("open with the right credentials: %v", err)
	}
	defer b.Close()
	m := &StorageMetadata{Cluster: "c1", BackupStorage: ObjectRef{Namespace: "ns", Name: "minio", UID: "u1"}}
	if err := CreateStorageMetadata(ctx, b, m); err != nil {
		t.Fatal(err)
	}
	if err := CreateStorageMetadata(ctx, b, &StorageMetadata{Cluster: "c2"}); !IsExists(err) {
		t.Fatalf("second conditional create: %v, want ErrExists", err)
	}
	got, err := ReadStorageMetadata(ctx, b)
	if err != nil || got.Cluster != "c1" {
		t.Fatalf("read back: %+v, %v", got, err)
	}
	// The record is under the prefix, where the CLI's URL points.
	raw, err := srv.OpenBucket(ctx, "backups")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if ok, err := raw.Exists(ctx, "cluster-a/"+MetadataKey); !ok || err != nil {
		t.Fatalf("cluster-a/metadata.yaml exists: %v %v", ok, err)
	}

	unreachable := closedPort(t)
	cases := []struct {
		name   string
		bs     *storagev1.BackupStorage
		secret *corev1.Secret
		reason Reason
		code   string
		says   string
	}{
		{"secret missing", bs, nil, ReasonSecretMissing, "", "Secret ns/creds does not exist"},
		{"key missing", bs, &corev1.Secret{ObjectMeta: good.ObjectMeta, Data: map[string][]byte{KeyAWSAccessKeyID: []byte("x")}}, ReasonKeyMissing, "", "no key AWS_SECRET_ACCESS_KEY"},
		{"wrong access key", bs, awsSecret("nosuchkey", srv.SecretKey), ReasonCredentialsRejected, "InvalidAccessKeyId", "rejected the credentials"},
		{"wrong secret key", bs, awsSecret(srv.AccessKey, "wrong-secret-key-0123456789"), ReasonCredentialsRejected, "SignatureDoesNotMatch", "rejected the credentials"},
		{"no bucket", s3Storage(srv.Endpoint, "nosuchbucket"), good, ReasonBucketNotFound, "", "bucket does not exist"},
		{"unreachable", s3Storage("http://"+unreachable, "backups"), good, ReasonEndpointUnreachable, "", "does not answer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := Open(ctx, c.bs, secrets(c.secret))
			if err == nil {
				b.Close()
				t.Fatal("opened")
			}
			t.Logf("%v", err)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%T %v, want *Error", err, err)
			}
			if e.Reason != c.reason || e.Code != c.code || !strings.Contains(e.Error(), c.says) {
				t.Fatalf("reason %s code %q message %q; want %s %q containing %q", e.Reason, e.Code, e.Error(), c.reason, c.code, c.says)
			}
			if strings.Contains(e.Error(), srv.SecretKey) {
				t.Fatal("the message shows the secret key")
			}
		})
	}
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
