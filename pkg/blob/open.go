package blob

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

// ErrLocal is returned for a local BackupStorage: only a Job that mounts
// its volume can open it, never the operator.
var ErrLocal = errors.New("a local BackupStorage is opened in a Job that mounts its volume")

// SecretGetter reads a Secret on demand (the operator watches Secrets as
// metadata only). It returns the API's NotFound error for a missing one.
type SecretGetter func(ctx context.Context, namespace, name string) (*corev1.Secret, error)

// CheckRetry is the retry policy for opening a storage from a controller:
// a check must answer within seconds; the controller re-checks later.
var CheckRetry = backend.RetryPolicy{Attempts: 3, Initial: 200 * time.Millisecond, Max: 2 * time.Second}

// Open reads bs's credentials Secret with secrets and opens its prefix,
// checking that the bucket answers. Failures are *Error with the reason
// to show; an error of another type (the API server failing to answer
// for the Secret) is worth a retry as it is.
func Open(ctx context.Context, bs *storagev1.BackupStorage, secrets SecretGetter) (*backend.Backend, error) {
	st := &bs.Spec.Storage
	if st.Provider == storagev1.ProviderLocal {
		return nil, ErrLocal
	}
	u, err := StorageURL(st)
	if err != nil {
		return nil, err
	}
	opts := backend.Options{Retry: CheckRetry}
	if name := SecretName(st); name != "" {
		s, err := secrets(ctx, bs.Namespace, name)
		if apierrors.IsNotFound(err) {
			return nil, &Error{Reason: ReasonSecretMissing, msg: fmt.Sprintf("Secret %s/%s does not exist: create it with the keys %v", bs.Namespace, name, requiredKeys(st.Provider))}
		}
		if err != nil {
			return nil, fmt.Errorf("reading Secret %s/%s: %w", bs.Namespace, name, err)
		}
		if opts.Credentials, err = Credentials(st, bs.Namespace+"/"+name, SecretLookup(s)); err != nil {
			return nil, err
		}
	}
	b, err := backend.Open(ctx, u, opts)
	if err != nil {
		return nil, classify(err, "opening "+backend.Redact(u))
	}
	return b, nil
}

// Check classifies an error of an operation on an opened storage (a
// write refused, a list that timed out) as Open's are; what names the
// operation ("writing metadata.yaml").
func Check(err error, what string) error {
	if err == nil {
		return nil
	}
	return classify(err, what)
}
