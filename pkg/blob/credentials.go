package blob

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

// Secret keys a BackupStorage's credentials Secret holds, as the API
// documents them (the same keys KubeStash uses, so its Secrets work
// unchanged).
const (
	// KeyAWSAccessKeyID and KeyAWSSecretAccessKey are required for s3.
	KeyAWSAccessKeyID     = "AWS_ACCESS_KEY_ID"
	KeyAWSSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	// KeyAWSSessionToken is optional: temporary credentials.
	KeyAWSSessionToken = "AWS_SESSION_TOKEN"
	// KeyGoogleServiceAccount is the service account key file's content
	// (JSON), required for gcs.
	KeyGoogleServiceAccount = "GOOGLE_SERVICE_ACCOUNT_JSON_KEY"
	// KeyGoogleProjectID is accepted and not needed: buckets are global.
	KeyGoogleProjectID = "GOOGLE_PROJECT_ID"
	// KeyAzureAccountKey is the storage account's key, required for azure.
	KeyAzureAccountKey = "AZURE_ACCOUNT_KEY"
)

// Lookup returns a credential by its Secret key; ok is false when the key
// is absent. Secret data and a process environment both fit it.
type Lookup func(key string) (value []byte, ok bool)

// SecretLookup reads the keys of a Secret.
func SecretLookup(s *corev1.Secret) Lookup {
	return func(key string) ([]byte, bool) {
		v, ok := s.Data[key]
		if !ok {
			if sv, sok := s.StringData[key]; sok {
				return []byte(sv), true
			}
		}
		return v, ok
	}
}

// SecretName is the name of the credentials Secret of st, "" when the
// storage uses the operator's own identity (workload identity, instance
// roles) or needs none (local).
func SecretName(st *storagev1.Backend) string {
	switch {
	case st.S3 != nil:
		return st.S3.SecretName
	case st.GCS != nil:
		return st.GCS.SecretName
	case st.Azure != nil:
		return st.Azure.SecretName
	}
	return ""
}

// requiredKeys are the keys a provider's Secret must hold.
func requiredKeys(p storagev1.StorageProvider) []string {
	switch p {
	case storagev1.ProviderS3:
		return []string{KeyAWSAccessKeyID, KeyAWSSecretAccessKey}
	case storagev1.ProviderGCS:
		return []string{KeyGoogleServiceAccount}
	case storagev1.ProviderAzure:
		return []string{KeyAzureAccountKey}
	}
	return nil
}

// Credentials reads the explicit credentials of st from get. A key that is
// required and absent or empty is an *Error with ReasonKeyMissing naming it.
func Credentials(st *storagev1.Backend, secretName string, get Lookup) (*backend.Credentials, error) {
	v := map[string]string{}
	for _, k := range requiredKeys(st.Provider) {
		b, ok := get(k)
		if !ok || len(b) == 0 {
			return nil, &Error{Reason: ReasonKeyMissing, Key: k,
				msg: fmt.Sprintf("Secret %s has no key %s: add it (%s needs %v)", secretName, k, st.Provider, requiredKeys(st.Provider))}
		}
		v[k] = string(b)
	}
	switch st.Provider {
	case storagev1.ProviderS3:
		c := &backend.Credentials{AWSAccessKeyID: v[KeyAWSAccessKeyID], AWSSecretAccessKey: v[KeyAWSSecretAccessKey]}
		if tok, ok := get(KeyAWSSessionToken); ok {
			c.AWSSessionToken = string(tok)
		}
		return c, nil
	case storagev1.ProviderGCS:
		return &backend.Credentials{GoogleServiceAccountJSON: []byte(v[KeyGoogleServiceAccount])}, nil
	case storagev1.ProviderAzure:
		return &backend.Credentials{AzureAccountName: st.Azure.StorageAccount, AzureAccountKey: v[KeyAzureAccountKey]}, nil
	}
	return nil, &Error{Reason: ReasonInvalid, msg: fmt.Sprintf("provider %s takes no credentials Secret: remove secretName", st.Provider)}
}
