package storageops

import (
	"k8s.io/client-go/tools/cache"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

// StorageHandlers are the handlers of a BackupStorage informer for a
// controller whose objects use storages (Repositories, configurations):
// wake is called with the storage when one appears or goes, and on an
// update only when StorageMatters.
func StorageHandlers(wake func(obj any)) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{AddFunc: wake, DeleteFunc: wake,
		UpdateFunc: func(oldObj, newObj any) {
			if StorageMatters(oldObj, newObj) {
				wake(newObj)
			}
		}}
}

// StorageMatters reports whether a BackupStorage update can change what
// the objects using it find: its spec (default, usage policy, location),
// its phase, or its deletion. Its status.repositories, rewritten as
// Repositories come and go, does not: waking every user of a storage for
// it would make creating n Repositories cost n² syncs (and as many copies
// of the growing list).
func StorageMatters(oldObj, newObj any) bool {
	o, ok1 := oldObj.(*storagev1.BackupStorage)
	n, ok2 := newObj.(*storagev1.BackupStorage)
	if !ok1 || !ok2 {
		return true
	}
	return o.Generation != n.Generation || o.Status.Phase != n.Status.Phase || (o.DeletionTimestamp == nil) != (n.DeletionTimestamp == nil)
}
