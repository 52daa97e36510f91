package backupconfiguration

import (
	"strconv"
	"sync/atomic"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller/internal/ownwrites"
)

// TestSyncWaitsForItsOwnStatus: a Snapshot that ends wakes its config; a
// second wake before the informer delivered the status the first sync
// wrote finds the older copy. That sync writes nothing (it would write the
// same status again and conflict) and looks again soon; once the cache
// holds the write, syncs go on as before.
func TestSyncWaitsForItsOwnStatus(t *testing.T) {
	k, c := workingSetup(backupConfig(true))
	for _, o := range c {
		if bc, ok := o.(*corev1alpha1.BackupConfiguration); ok {
			bc.ResourceVersion = "1"
		}
	}
	f := newFixture(t, k, c)
	var rv atomic.Int64
	rv.Store(1)
	f.cairn.PrependReactor("update", "backupconfigurations", func(a clienttesting.Action) (bool, runtime.Object, error) {
		a.(clienttesting.UpdateAction).GetObject().(metav1.Object).SetResourceVersion(strconv.FormatInt(rv.Add(1), 10))
		return false, nil, nil
	})
	cached, err := f.c.configLister.BackupConfigurations("app").Get("web")
	if err != nil {
		t.Fatal(err)
	}
	stale := cached.DeepCopy()
	if writes, err := f.sync("app", "web"); err != nil || len(writes) == 0 {
		t.Fatalf("the first sync: %v, %d writes", err, len(writes))
	}
	if err := f.c.configs.Update(stale); err != nil { // the informer has not delivered the write
		t.Fatal(err)
	}
	key := cache.ObjectName{Namespace: "app", Name: "web"}
	var res struct{ after string }
	writes, err := f.Sync(func() error {
		r, err := f.c.sync(f.ctx, key)
		res.after = r.RequeueAfter.String()
		return err
	})
	if err != nil || len(writes) != 0 || res.after != ownwrites.Recheck.String() {
		t.Fatalf("a sync on the stale copy: %v, %d writes, requeue after %s; want none and %v", err, len(writes), res.after, ownwrites.Recheck)
	}
	// f.Sync refreshed the cache: the next sync is an ordinary one.
	if r, err := f.c.sync(f.ctx, key); err != nil || r.RequeueAfter == ownwrites.Recheck {
		t.Fatalf("a sync on the current copy: %v, requeue after %v", err, r.RequeueAfter)
	}
}
