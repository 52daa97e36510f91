package download

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/runner"
)

// ErrLocalStorage is returned for a Repository on a local BackupStorage:
// its volume is mounted in the cluster's Jobs, not reachable from here.
var ErrLocalStorage = errors.New("the repository is on a local BackupStorage")

// location is where a Repository's engine repository is and what opens it.
type location struct {
	url      string
	creds    *backend.Credentials
	password string
	// passwordSecret is "namespace/name", for messages.
	passwordSecret string
}

// locate reads the Repository's BackupStorage, the storage's credentials
// Secret and the Repository's encryption Secret, as the in-cluster runner
// does, with the user's own permissions. endpoint, when set, replaces an
// S3 storage's endpoint (one reachable from this machine, such as a
// port-forward).
func locate(ctx context.Context, kube kubernetes.Interface, c cairnclient.Interface, rp *storagev1alpha1.Repository, endpoint string) (*location, error) {
	ref := rp.Spec.StorageRef.WithNamespace(rp.Namespace)
	bs, err := c.StorageV1alpha1().BackupStorages(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		return nil, readFailure(err, fmt.Sprintf("BackupStorage %s/%s (spec.storageRef of Repository %s/%s)", ref.Namespace, ref.Name, rp.Namespace, rp.Name))
	}
	st := bs.Spec.Storage.DeepCopy()
	if st.Provider == storagev1alpha1.ProviderLocal {
		return nil, fmt.Errorf("Repository %s/%s is on BackupStorage %s/%s, a volume mounted in the cluster: %w; restore it in the cluster with kubectl cairn restore, or run `cairn repo restore` where the volume is mounted",
			rp.Namespace, rp.Name, bs.Namespace, bs.Name, ErrLocalStorage)
	}
	if endpoint != "" {
		if st.S3 == nil {
			return nil, fmt.Errorf("--endpoint applies to s3 storages; BackupStorage %s/%s is %s", bs.Namespace, bs.Name, st.Provider)
		}
		if u, err := url.Parse(endpoint); err != nil || u.Host == "" {
			return nil, fmt.Errorf("--endpoint %q is not an http(s)://host[:port] URL", endpoint)
		}
		st.S3.Endpoint = endpoint
	}
	loc := &location{}
	if loc.url, err = blob.RepositoryURL(st, rp.Spec.Path); err != nil {
		return nil, fmt.Errorf("BackupStorage %s/%s or Repository %s/%s: %w", bs.Namespace, bs.Name, rp.Namespace, rp.Name, err)
	}
	if name := blob.SecretName(st); name != "" {
		s, err := kube.CoreV1().Secrets(bs.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, readFailure(err, fmt.Sprintf("credentials Secret %s/%s of BackupStorage %s", bs.Namespace, name, bs.Name))
		}
		if loc.creds, err = blob.Credentials(st, bs.Namespace+"/"+name, blob.SecretLookup(s)); err != nil {
			return nil, err
		}
	}
	enc := rp.Spec.EncryptionSecret.WithNamespace(rp.Namespace)
	loc.passwordSecret = enc.Namespace + "/" + enc.Name
	s, err := kube.CoreV1().Secrets(enc.Namespace).Get(ctx, enc.Name, metav1.GetOptions{})
	if err != nil {
		return nil, readFailure(err, "encryption Secret "+loc.passwordSecret+" of Repository "+rp.Name)
	}
	for _, k := range runner.PasswordKeys {
		if v, ok := s.Data[k]; ok && len(v) > 0 {
			loc.password = string(v)
			break
		}
	}
	if loc.password == "" {
		return nil, fmt.Errorf("encryption Secret %s has no key %s: it holds the repository password there", loc.passwordSecret, runner.PasswordKeys[0])
	}
	return loc, nil
}

// readFailure explains a failed read of what with the user's credentials.
func readFailure(err error, what string) error {
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s does not exist: %w", what, err)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("you may not read %s (a download needs get on the storage's Secrets): %w", what, err)
	}
	return fmt.Errorf("reading %s: %w", what, err)
}

// open opens the engine repository at loc.
func open(ctx context.Context, loc *location) (*repo.Repository, error) {
	safe := backend.Redact(loc.url)
	be, err := backend.Open(ctx, loc.url, backend.Options{Credentials: loc.creds})
	if err != nil {
		return nil, fmt.Errorf("%w (is the store reachable from this machine? --endpoint names another address of an s3 store)", blob.Check(err, "opening "+safe))
	}
	r, err := repo.Open(ctx, be, loc.password, repo.Options{})
	if err != nil {
		be.Close()
		if errors.Is(err, repo.ErrWrongPassword) {
			return nil, fmt.Errorf("the password in Secret %s does not open the repository at %s: %w", loc.passwordSecret, safe, err)
		}
		return nil, fmt.Errorf("opening the repository at %s: %w", safe, err)
	}
	return r, nil
}
