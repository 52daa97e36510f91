package storageops

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

func TestStorageHandlersWakeOnlyForWhatUsersRead(t *testing.T) {
	old := &storagev1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: "cairn", Name: "s3", Generation: 1, ResourceVersion: "1"},
		Status: storagev1.BackupStorageStatus{Phase: storagev1.BackupStorageReady}}
	changed := func(edit func(*storagev1.BackupStorage)) *storagev1.BackupStorage {
		n := old.DeepCopy()
		n.ResourceVersion = "2"
		edit(n)
		return n
	}
	now := metav1.Now()
	woken := 0
	h := StorageHandlers(func(any) { woken++ })
	for _, tc := range []struct {
		name string
		obj  *storagev1.BackupStorage
		want bool
	}{
		{"a new status.repositories", changed(func(n *storagev1.BackupStorage) {
			n.Status.Repositories = []storagev1.RepositoryInfo{{Namespace: "apps", Name: "web", Path: "apps/web"}}
		}), false},
		{"a new spec", changed(func(n *storagev1.BackupStorage) { n.Generation = 2 }), true},
		{"another phase", changed(func(n *storagev1.BackupStorage) { n.Status.Phase = storagev1.BackupStorageNotReady }), true},
		{"deletion asked", changed(func(n *storagev1.BackupStorage) { n.DeletionTimestamp = &now }), true},
	} {
		woken = 0
		h.OnUpdate(old, tc.obj)
		if (woken == 1) != tc.want {
			t.Errorf("%s: woke %d times, want a wake-up: %v", tc.name, woken, tc.want)
		}
	}
	woken = 0
	h.OnAdd(old, false)
	h.OnDelete(cache.DeletedFinalStateUnknown{Key: "cairn/s3", Obj: old})
	if woken != 2 {
		t.Errorf("add and delete woke %d times, want 2", woken)
	}
}
