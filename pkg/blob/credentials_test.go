package blob

import (
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

func TestCredentials(t *testing.T) {
	s3 := &storagev1.Backend{Provider: storagev1.ProviderS3, S3: &storagev1.S3Spec{Bucket: "b", SecretName: "s"}}
	sec := &corev1.Secret{Data: map[string][]byte{KeyAWSAccessKeyID: []byte("id"), KeyAWSSecretAccessKey: []byte("key"), KeyAWSSessionToken: []byte("tok")}}
	c, err := Credentials(s3, "ns/s", SecretLookup(sec))
	if err != nil || c.AWSAccessKeyID != "id" || c.AWSSecretAccessKey != "key" || c.AWSSessionToken != "tok" {
		t.Fatalf("s3: %v %v", c, err)
	}
	az := &storagev1.Backend{Provider: storagev1.ProviderAzure, Azure: &storagev1.AzureSpec{StorageAccount: "acct", Container: "c"}}
	c, err = Credentials(az, "ns/s", SecretLookup(&corev1.Secret{StringData: map[string]string{KeyAzureAccountKey: "k"}}))
	if err != nil || c.AzureAccountName != "acct" || c.AzureAccountKey != "k" {
		t.Fatalf("azure: %v", err)
	}
	gcs := &storagev1.Backend{Provider: storagev1.ProviderGCS, GCS: &storagev1.GCSSpec{Bucket: "g"}}
	_, err = Credentials(gcs, "ns/s", SecretLookup(&corev1.Secret{Data: map[string][]byte{KeyGoogleServiceAccount: nil}}))
	var e *Error
	if !errors.As(err, &e) || e.Reason != ReasonKeyMissing || e.Key != KeyGoogleServiceAccount {
		t.Fatalf("empty key: %v, want KeyMissing naming %s", err, KeyGoogleServiceAccount)
	}
}

func TestRunnerEnvRoundTrip(t *testing.T) {
	s3 := &storagev1.Backend{Provider: storagev1.ProviderS3, S3: &storagev1.S3Spec{Bucket: "b"}}
	env := RunnerEnv(s3, "creds")
	want := map[string]bool{KeyAWSAccessKeyID: false, KeyAWSSecretAccessKey: false, KeyAWSSessionToken: true}
	if len(env) != len(want) {
		t.Fatalf("%d variables, want %d", len(env), len(want))
	}
	for _, e := range env {
		ref := e.ValueFrom.SecretKeyRef
		if optional, ok := want[e.Name]; !ok || ref.Name != "creds" || ref.Key != e.Name || (ref.Optional != nil && *ref.Optional) != optional {
			t.Errorf("variable %+v", e)
		}
	}
	if RunnerEnv(s3, "") != nil {
		t.Error("no Secret, yet variables")
	}
	// In the Job the runner reads them back from its environment.
	t.Setenv(KeyAWSAccessKeyID, "id")
	t.Setenv(KeyAWSSecretAccessKey, "key")
	c, err := EnvCredentials("s3://b/p/dir?region=x")
	if err != nil || c == nil || c.AWSAccessKeyID != "id" || c.AWSSecretAccessKey != "key" {
		t.Fatalf("EnvCredentials: %v %v", c, err)
	}
	if c, err := EnvCredentials("gs://b/dir"); c != nil || err != nil {
		t.Fatalf("no Google keys set: %v %v; want the default chain (nil)", c, err)
	}
	t.Setenv(KeyAWSSecretAccessKey, "")
	if _, err := EnvCredentials("s3://b/p"); ReasonOf(err) != ReasonKeyMissing {
		t.Fatalf("half the keys: %v, want KeyMissing", err)
	}
	t.Setenv(KeyAzureAccountKey, "k")
	if c, err := EnvCredentials("azblob://c/p?storage_account=acct"); err != nil || c.AzureAccountName != "acct" {
		t.Fatalf("azure: %v %v", c, err)
	}
}
