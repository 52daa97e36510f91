package backupstorage

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/controller/internal/storageops"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

// importSnapshots recreates the Snapshots recorded in the directory of an
// imported Repository (<directory>/cairn-snapshots/*.yaml), owned by it,
// with their recorded status, so restores of `latest` or of a named
// Snapshot work in this cluster. A Snapshot that exists is left alone. It
// returns how many records the directory holds and what stopped some
// ("" when every one exists now).
func (c *Controller) importSnapshots(ctx context.Context, b *backend.Backend, repo *storagev1.Repository, f blob.FoundRepository) (int, string) {
	found, err := blob.FindSnapshots(ctx, b, f.Dir)
	if err != nil {
		return 0, fmt.Sprintf("%s: %v", f.Dir, blob.Check(err, "listing the Snapshot records of "+f.Dir))
	}
	var problems []string
	for _, s := range found {
		if s.Err != nil {
			problems = append(problems, s.Err.Error())
			continue
		}
		if p := c.recreateSnapshot(ctx, repo, s.Record, f.Meta.Cluster); p != "" {
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		return len(found), fmt.Sprintf("%s: %d Snapshot records could not be recreated: %s", f.Dir, len(problems), strings.Join(problems, "; "))
	}
	return len(found), ""
}

// recreateSnapshot makes the Snapshot rec records, in repo's namespace and
// owned by it, then writes its status (a create ignores status): a
// Snapshot made earlier whose status write did not happen gets it now.
func (c *Controller) recreateSnapshot(ctx context.Context, repo *storagev1.Repository, rec *blob.SnapshotRecord, cluster string) string {
	snaps := c.cairn.StorageV1alpha1().Snapshots(repo.Namespace)
	rec.Namespace, rec.Spec.Repository = repo.Namespace, repo.Name
	have, err := c.snapshots.Snapshots(repo.Namespace).Get(rec.Name)
	if err == nil {
		if have.Status.Phase != "" || have.Annotations[AnnotationImportedFrom] == "" {
			return ""
		}
	} else {
		labels := map[string]string{controller.LabelManagedBy: controller.ManagedByValue}
		for k, v := range rec.Labels {
			labels[k] = v
		}
		snap := &storagev1.Snapshot{
			ObjectMeta: metav1.ObjectMeta{Namespace: repo.Namespace, Name: rec.Name, Labels: labels,
				// Recorded already: the snapshot controller has nothing to
				// write, and the finalizer deletes the record with it.
				Annotations:     map[string]string{AnnotationImportedFrom: cluster, blob.RecordedAnnotation: rec.Digest()},
				Finalizers:      []string{storageops.Finalizer},
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(repo, storagev1.SchemeGroupVersion.WithKind("Repository"))}},
			Spec: rec.Spec,
		}
		have, err = snaps.Create(ctx, snap, metav1.CreateOptions{FieldManager: controller.FieldManager})
		if apierrors.IsAlreadyExists(err) {
			have, err = snaps.Get(ctx, rec.Name, metav1.GetOptions{})
		}
		if err != nil {
			return fmt.Sprintf("creating Snapshot %s/%s: %v", repo.Namespace, rec.Name, err)
		}
		if have.Status.Phase != "" || have.Annotations[AnnotationImportedFrom] == "" {
			return "" // not ours, or complete
		}
	}
	upd := have.DeepCopy()
	upd.Status = rec.Status
	if _, err := snaps.UpdateStatus(ctx, upd, metav1.UpdateOptions{FieldManager: controller.FieldManager}); err != nil {
		return fmt.Sprintf("writing the status of Snapshot %s/%s: %v", repo.Namespace, rec.Name, err)
	}
	klog.FromContext(ctx).V(2).Info("Recreated Snapshot", "snapshot", klog.KRef(repo.Namespace, rec.Name), "repository", repo.Name)
	return ""
}
