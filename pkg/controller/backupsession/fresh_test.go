package backupsession

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller/internal/ownwrites"
	"github.com/cairnbackup/cairn/pkg/controller/internal/workloop"
)

// TestSyncWaitsForItsOwnStatus: the Snapshot and Job a start creates wake
// the session before the informer delivered the status that says it
// started. A sync on that older copy writes nothing (it would start the
// session again and write a status that conflicts) and looks again
// shortly; once the cache holds the status, the session goes on.
func TestSyncWaitsForItsOwnStatus(t *testing.T) {
	k, c := setup()
	for _, o := range c {
		if bs, ok := o.(*corev1alpha1.BackupSession); ok {
			bs.ResourceVersion = "10"
		}
	}
	f := newFixture(t, k, c)
	numberSessionWrites(f, 10)
	key := cache.ObjectName{Namespace: "app", Name: "web-daily-1"}
	stale := f.cached("web-daily-1")
	if writes := f.sync("web-daily-1"); len(writes) == 0 {
		t.Fatal("the first sync wrote nothing")
	}
	if bs := f.session("web-daily-1"); bs.ResourceVersion != "11" || bs.Status.Phase == "" {
		t.Fatalf("after the start: resourceVersion %s, phase %q", bs.ResourceVersion, bs.Status.Phase)
	}

	// The informer still holds the session as it was before the start.
	syncStale := func() (workloop.Result, int) {
		res, writes := f.syncOn(stale)
		return res, len(writes)
	}
	if res, writes := syncStale(); writes != 0 || res.RequeueAfter != ownwrites.Recheck {
		t.Fatalf("a sync on the stale copy made %d writes and requeued after %v, want none and %v", writes, res.RequeueAfter, ownwrites.Recheck)
	}
	// The cache caught up (f.Sync refreshed it): the session goes on,
	// without starting again.
	if writes := f.sync("web-daily-1"); len(writes) != 0 {
		t.Fatalf("a sync after the cache caught up wrote %v", writes)
	}

	// A cache that stays behind longer than maxCacheLag is not waited for.
	f.c.writes.Wrote(key, "12")
	f.c.writes.Clock = func() time.Time { return time.Now().Add(ownwrites.MaxLag + time.Second) }
	if res, _ := syncStale(); res.RequeueAfter == ownwrites.Recheck {
		t.Fatal("waited for a cache behind for longer than MaxLag")
	}
}

// numberSessionWrites makes the fake API server number the writes of
// BackupSessions from first on, as a real one does (it keeps them as
// given otherwise).
func numberSessionWrites(f *fixture, first int64) {
	var rv atomic.Int64
	rv.Store(first)
	f.Cairn.PrependReactor("update", "backupsessions", func(a clienttesting.Action) (bool, runtime.Object, error) {
		obj := a.(clienttesting.UpdateAction).GetObject().(metav1.Object)
		obj.SetResourceVersion(strconv.FormatInt(rv.Add(1), 10))
		return false, nil, nil
	})
}

// cached is a copy of the session as the informer holds it now.
func (f *fixture) cached(name string) *corev1alpha1.BackupSession {
	f.t.Helper()
	bs, err := f.c.sessions.BackupSessions("app").Get(name)
	if err != nil {
		f.t.Fatal(err)
	}
	return bs.DeepCopy()
}

// syncOn syncs the session with stale in the informer's cache in its
// place, as when a child's event wakes it before the informer delivered
// its last status, and returns the result and the writes.
func (f *fixture) syncOn(stale *corev1alpha1.BackupSession) (workloop.Result, []clienttesting.Action) {
	f.t.Helper()
	if err := f.c.sessionIndex.Update(stale); err != nil {
		f.t.Fatal(err)
	}
	var res workloop.Result
	writes, err := f.Sync(func() (err error) {
		res, err = f.c.sync(f.Ctx, cache.ObjectName{Namespace: stale.Namespace, Name: stale.Name})
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return res, writes
}
