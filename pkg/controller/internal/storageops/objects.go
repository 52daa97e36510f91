package storageops

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/controller/internal/secretcache"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

// Object is a typed API object the storage controllers write: a
// BackupStorage, a Repository or a Snapshot.
type Object[T any] interface {
	metav1.Object
	DeepCopy() T
}

// UpdateFunc is a typed client's Update or UpdateStatus.
type UpdateFunc[T any] func(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)

// AddFinalizer adds Finalizer to obj through update. A conflict or a
// vanished object is not an error: the newer version comes back through
// the informer and is synced then.
func AddFinalizer[T Object[T]](ctx context.Context, obj T, update UpdateFunc[T]) error {
	upd := obj.DeepCopy()
	upd.SetFinalizers(WithFinalizer(obj))
	return Write(ctx, upd, update, "adding finalizer")
}

// Release removes Finalizer from obj through update, letting its
// deletion finish.
func Release[T Object[T]](ctx context.Context, obj T, update UpdateFunc[T]) error {
	upd := obj.DeepCopy()
	upd.SetFinalizers(WithoutFinalizer(obj))
	return Write(ctx, upd, update, "removing finalizer")
}

// Write sends upd through update (Update or UpdateStatus) as the
// operator's field manager; what names the write in an error. Conflicts
// and NotFound are left to the next sync.
func Write[T any](ctx context.Context, upd T, update UpdateFunc[T], what string) error {
	_, err := update(ctx, upd, metav1.UpdateOptions{FieldManager: controller.FieldManager})
	if err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// Opener opens a BackupStorage's bucket. The storage controllers open
// buckets through one, so their tests give one over a directory.
type Opener func(ctx context.Context, bs *storagev1.BackupStorage) (*backend.Backend, error)

// BucketOpener opens storages with blob.Open, reading their credentials
// Secrets through secrets (one GET per change of a Secret).
func BucketOpener(secrets *secretcache.Reader) Opener {
	return func(ctx context.Context, bs *storagev1.BackupStorage) (*backend.Backend, error) {
		return blob.Open(ctx, bs, secrets.Get)
	}
}
