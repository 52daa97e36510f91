package blob

import (
	"net/url"
	"os"

	corev1 "k8s.io/api/core/v1"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

// RunnerEnv is the environment of a Job that opens st's repositories: each
// credential key of the Secret secretName (in the Job's namespace) as a
// variable of the same name, which EnvCredentials reads back in the Job.
// Optional keys are optional references, so a Secret without them works.
func RunnerEnv(st *storagev1.Backend, secretName string) []corev1.EnvVar {
	if secretName == "" {
		return nil
	}
	ref := func(key string, optional bool) corev1.EnvVar {
		sel := &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secretName}, Key: key}
		if optional {
			sel.Optional = &optional
		}
		return corev1.EnvVar{Name: key, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: sel}}
	}
	var env []corev1.EnvVar
	for _, k := range requiredKeys(st.Provider) {
		env = append(env, ref(k, false))
	}
	if st.Provider == storagev1.ProviderS3 {
		env = append(env, ref(KeyAWSSessionToken, true))
	}
	return env
}

// EnvCredentials reads the credentials RunnerEnv put in the environment
// for the repository at rawURL: nil when none of its provider's keys is
// set (the provider's default chain applies: workload identity, instance
// roles), an *Error with ReasonKeyMissing when only some are.
func EnvCredentials(rawURL string) (*backend.Credentials, error) {
	return credentialsFor(rawURL, func(k string) ([]byte, bool) {
		v, ok := os.LookupEnv(k)
		return []byte(v), ok
	})
}

func credentialsFor(rawURL string, get Lookup) (*backend.Credentials, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, invalidf("repository URL %s does not parse", backend.Redact(rawURL))
	}
	st := &storagev1.Backend{}
	switch u.Scheme {
	case "s3":
		st.Provider = storagev1.ProviderS3
	case "gs":
		st.Provider = storagev1.ProviderGCS
	case "azblob":
		st.Provider = storagev1.ProviderAzure
		st.Azure = &storagev1.AzureSpec{StorageAccount: u.Query().Get("storage_account")}
	default:
		return nil, nil
	}
	any := false
	for _, k := range requiredKeys(st.Provider) {
		if _, ok := get(k); ok {
			any = true
		}
	}
	if !any {
		return nil, nil
	}
	return Credentials(st, "environment", get)
}
