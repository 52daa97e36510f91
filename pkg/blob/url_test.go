package blob

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

func TestURLs(t *testing.T) {
	cases := []struct {
		name    string
		st      storagev1.Backend
		storage string // "" means StorageURL fails with ReasonInvalid
	}{
		{"minio", storagev1.Backend{Provider: storagev1.ProviderS3, S3: &storagev1.S3Spec{Endpoint: "http://minio.storage:9000/", Bucket: "b", Prefix: "/p/q/", Region: "eu-west-1"}},
			"s3://b/p/q?endpoint=http%3A%2F%2Fminio.storage%3A9000&region=eu-west-1&use_path_style=true"},
		{"aws", storagev1.Backend{Provider: storagev1.ProviderS3, S3: &storagev1.S3Spec{Bucket: "b", Region: "us-east-2"}}, "s3://b?region=us-east-2"},
		{"aws endpoint", storagev1.Backend{Provider: storagev1.ProviderS3, S3: &storagev1.S3Spec{Endpoint: "https://s3.eu-west-1.amazonaws.com", Bucket: "b"}},
			"s3://b?endpoint=https%3A%2F%2Fs3.eu-west-1.amazonaws.com"},
		{"insecure tls", storagev1.Backend{Provider: storagev1.ProviderS3, S3: &storagev1.S3Spec{Endpoint: "https://ceph", Bucket: "b", InsecureTLS: true}}, ""},
		{"bad endpoint", storagev1.Backend{Provider: storagev1.ProviderS3, S3: &storagev1.S3Spec{Endpoint: "minio:9000", Bucket: "b"}}, ""},
		{"gcs", storagev1.Backend{Provider: storagev1.ProviderGCS, GCS: &storagev1.GCSSpec{Bucket: "g", Prefix: "x"}}, "gs://g/x"},
		{"azure", storagev1.Backend{Provider: storagev1.ProviderAzure, Azure: &storagev1.AzureSpec{StorageAccount: "acct", Container: "c", Prefix: "x"}}, "azblob://c/x?storage_account=acct"},
		{"azure domain", storagev1.Backend{Provider: storagev1.ProviderAzure, Azure: &storagev1.AzureSpec{StorageAccount: "acct", Container: "c", Endpoint: "https://acct.blob.core.chinacloudapi.cn"}},
			"azblob://c?domain=blob.core.chinacloudapi.cn&storage_account=acct"},
		{"azurite", storagev1.Backend{Provider: storagev1.ProviderAzure, Azure: &storagev1.AzureSpec{StorageAccount: "devstoreaccount1", Container: "c", Endpoint: "http://10.0.0.1:10000/devstoreaccount1"}},
			"azblob://c?domain=10.0.0.1%3A10000&localemu=true&protocol=http&storage_account=devstoreaccount1"},
		{"azurite other account", storagev1.Backend{Provider: storagev1.ProviderAzure, Azure: &storagev1.AzureSpec{StorageAccount: "a1", Container: "c", Endpoint: "http://10.0.0.1:10000/a2"}}, ""},
		{"local", storagev1.Backend{Provider: storagev1.ProviderLocal, Local: &storagev1.LocalSpec{MountPath: "/backup/", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}, "file:///backup"},
		{"section missing", storagev1.Backend{Provider: storagev1.ProviderS3}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := StorageURL(&c.st)
			if c.storage == "" {
				if ReasonOf(err) != ReasonInvalid {
					t.Fatalf("got %q, %v; want an InvalidConfiguration error", got, err)
				}
				return
			}
			if err != nil || got != c.storage {
				t.Fatalf("StorageURL = %q, %v; want %q", got, err, c.storage)
			}
		})
	}
}

func TestRepositoryURL(t *testing.T) {
	st := &storagev1.Backend{Provider: storagev1.ProviderS3, S3: &storagev1.S3Spec{Endpoint: "http://minio:9000", Bucket: "b", Prefix: "p"}}
	got, err := RepositoryURL(st, "/ns/app/")
	if want := "s3://b/p/ns/app?endpoint=http%3A%2F%2Fminio%3A9000&use_path_style=true"; err != nil || got != want {
		t.Fatalf("RepositoryURL = %q, %v; want %q", got, err, want)
	}
	noPrefix := &storagev1.Backend{Provider: storagev1.ProviderGCS, GCS: &storagev1.GCSSpec{Bucket: "g"}}
	if got, err := RepositoryURL(noPrefix, "app"); err != nil || got != "gs://g/app" {
		t.Fatalf("RepositoryURL without prefix = %q, %v", got, err)
	}
	for _, dir := range []string{"", "/", "a/../b", "a//b", "./a"} {
		if _, err := RepositoryURL(st, dir); ReasonOf(err) != ReasonInvalid {
			t.Errorf("directory %q: %v, want InvalidConfiguration", dir, err)
		}
	}
}
