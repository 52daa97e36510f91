package runner

import (
	"context"
	"errors"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

// location is an engine repository as the API describes it: where it is,
// how to reach it, and the password that opens it.
type location struct {
	url      string // holds no secret
	local    string // a local storage's mount path, "" for a bucket
	creds    *backend.Credentials
	password string
	// passwordSecret is "namespace/name" of the encryption Secret, for
	// messages.
	passwordSecret string
}

// resolve reads the Repository's BackupStorage, its credentials Secret and
// the encryption Secret enc (namespace defaulting to the Repository's).
func (r *Runner) resolve(ctx context.Context, rp *storagev1.Repository, enc common.ObjectReference) (*location, error) {
	ref := rp.Spec.StorageRef.WithNamespace(rp.Namespace)
	bs, err := r.Cairn.StorageV1alpha1().BackupStorages(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		return nil, apiFailure(err, fmt.Sprintf("BackupStorage %s/%s (spec.storageRef of Repository %s/%s)", ref.Namespace, ref.Name, rp.Namespace, rp.Name))
	}
	st := &bs.Spec.Storage
	loc := &location{}
	if loc.url, err = blob.RepositoryURL(st, rp.Spec.Path); err != nil {
		return nil, &Error{Message: fmt.Sprintf("BackupStorage %s/%s or Repository %s/%s: %v", bs.Namespace, bs.Name, rp.Namespace, rp.Name, err), Err: err}
	}
	if st.Provider == storagev1.ProviderLocal && st.Local != nil {
		loc.local = st.Local.MountPath
	}
	if name := blob.SecretName(st); name != "" {
		s, err := r.secret(ctx, bs.Namespace, name, fmt.Sprintf("credentials Secret %s/%s of BackupStorage %s", bs.Namespace, name, bs.Name))
		if err != nil {
			return nil, err
		}
		if loc.creds, err = blob.Credentials(st, bs.Namespace+"/"+name, blob.SecretLookup(s)); err != nil {
			return nil, &Error{Message: err.Error(), Err: err}
		}
	}
	enc = enc.WithNamespace(rp.Namespace)
	loc.passwordSecret = enc.Namespace + "/" + enc.Name
	s, err := r.secret(ctx, enc.Namespace, enc.Name, "encryption Secret "+loc.passwordSecret)
	if err != nil {
		return nil, err
	}
	lookup := blob.SecretLookup(s)
	for _, k := range PasswordKeys {
		if v, ok := lookup(k); ok && len(v) > 0 {
			loc.password = string(v)
			break
		}
	}
	if loc.password == "" {
		return nil, &Error{Message: fmt.Sprintf("encryption Secret %s has no key %s (nor %s): put the repository password under %s",
			loc.passwordSecret, PasswordKeys[0], PasswordKeys[1], PasswordKeys[0])}
	}
	return loc, nil
}

// secret reads a Secret; what names it in messages. The Secret's content
// never reaches a message or a log.
func (r *Runner) secret(ctx context.Context, ns, name, what string) (*corev1.Secret, error) {
	s, err := r.Kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, apiFailure(err, what)
	}
	return s, nil
}

// apiFailure explains a failed read of what through the API.
func apiFailure(err error, what string) error {
	switch {
	case apierrors.IsNotFound(err):
		return &Error{Message: what + " does not exist: create it, or fix the reference to it", Err: err}
	case apierrors.IsForbidden(err):
		return &Error{Message: "the runner's ServiceAccount may not read " + what + ": the operator grants it per session; check that the operator runs and that its RoleBindings were not removed", Err: err}
	}
	return &Error{Message: "reading " + what + ": " + err.Error(), Err: err}
}

// open opens the engine repository at loc. With create (a backup), a
// missing repository is initialised; when another runner (a StatefulSet's
// other replicas) initialised it first, it is opened instead.
func (r *Runner) open(ctx context.Context, loc *location, create bool) (*repo.Repository, error) {
	safe := backend.Redact(loc.url)
	if loc.local != "" {
		if fi, err := os.Stat(loc.local); err != nil || !fi.IsDir() {
			return nil, &Error{Message: fmt.Sprintf("the local storage's volume is not mounted at %s in this pod: check the BackupStorage's spec.storage.local (mountPath and volume)", loc.local), Err: err}
		}
	}
	be, err := backend.Open(ctx, loc.url, backend.Options{Credentials: loc.creds, Create: create && loc.local != "", Retry: r.Retry})
	if err != nil {
		return nil, storeFailure(ctx, err, "opening the storage at "+safe)
	}
	rp, err := repo.Open(ctx, be, loc.password, r.Engine)
	if create && errors.Is(err, repo.ErrNoRepository) {
		klog.FromContext(ctx).Info("Initialising the engine repository", "url", safe)
		rp, err = repo.Init(ctx, be, loc.password, r.Engine)
		if errors.Is(err, repo.ErrAlreadyInitialized) {
			klog.FromContext(ctx).Info("Another runner initialised the repository first; opening it", "url", safe)
			rp, err = repo.Open(ctx, be, loc.password, r.Engine)
		}
	}
	if err != nil {
		be.Close()
		return nil, openFailure(ctx, err, loc)
	}
	return rp, nil
}

// openFailure explains why the engine repository did not open.
func openFailure(ctx context.Context, err error, loc *location) error {
	safe := backend.Redact(loc.url)
	switch {
	case errors.Is(err, repo.ErrWrongPassword):
		return &Error{Message: fmt.Sprintf("wrong password: the password in Secret %s does not open the repository at %s: put the password the repository was created with in the Secret", loc.passwordSecret, safe), Err: err}
	case errors.Is(err, repo.ErrNoRepository):
		return &Error{Message: fmt.Sprintf("repository missing: there is no repository at %s: nothing was backed up there yet, or the Repository's spec.path or the BackupStorage's prefix changed", safe), Err: err}
	case errors.Is(err, repo.ErrUnsupportedVersion):
		return &Error{Message: fmt.Sprintf("the repository at %s has a format this Cairn does not read (%v): run a Cairn release that reads it", safe, err), Err: err}
	case errors.Is(err, repo.ErrCorrupt), errors.Is(err, repo.ErrNoKeys):
		return &Error{Message: fmt.Sprintf("the repository at %s is damaged (%v): run `cairn repo check --repo %s`", safe, err, safe), Err: err}
	}
	return storeFailure(ctx, err, "opening the repository at "+safe)
}

// storeFailure explains an error of the store, unless the context ended
// (an interruption is explained by the caller).
func storeFailure(ctx context.Context, err error, what string) error {
	if ctx.Err() != nil {
		return err
	}
	e := blob.Check(err, what)
	return &Error{Message: e.Error(), Err: err}
}

// safeURL is the repository URL fit for messages.
func (l *location) safeURL() string { return backend.Redact(l.url) }
