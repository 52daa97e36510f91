package backupsession

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/resourceversion"
	"k8s.io/client-go/tools/cache"
)

// maxCacheLag bounds how long a sync waits for the informer to deliver the
// operator's own status write: a cache further behind than that has lost
// its watch (the informer relists), and the sync goes on with what it has,
// as it would without this wait (a status written from an old copy
// conflicts; no harm but a write).
const maxCacheLag = 30 * time.Second

// cacheRecheck is when a sync that waits for the cache looks again, should
// the informer's own update (which wakes the session at once) be late.
const cacheRecheck = time.Second

// writes remembers the resourceVersion of the operator's last status write
// of each session until the informer's cache holds that version or a newer
// one. The Snapshot, Job and pods a start creates wake their session at
// once, before the informer delivered the status that says it started: a
// sync on that older copy would start the session a second time (creates
// answered AlreadyExists, a second Event) or write a status that conflicts,
// about three writes per session in a burst (make bench-sessions). Such a
// sync waits for the cache instead.
//
// The wait is measured on the wall clock, not the controller's now (which
// tests stop): it is about how far the informer is behind the API server,
// not about the session's schedule. Resource versions are compared as the
// API server's numbers; one that is not a number (a fake API server in
// tests keeps them empty) is never waited for.
type writes struct {
	mu    sync.Mutex
	last  map[cache.ObjectName]written
	clock func() time.Time
}

type written struct {
	resourceVersion string
	at              time.Time
}

func newWrites() *writes {
	return &writes{last: map[cache.ObjectName]written{}, clock: time.Now}
}

// wrote records that the operator wrote key's status at resourceVersion.
func (w *writes) wrote(key cache.ObjectName, resourceVersion string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last[key] = written{resourceVersion: resourceVersion, at: w.clock()}
}

// behind reports that cached, the resourceVersion of key in the
// informer's cache, is older than the operator's last status write of key
// (and that write is recent). Once the cache caught up, or the wait is
// over, key is forgotten.
func (w *writes) behind(key cache.ObjectName, cached string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	last, ok := w.last[key]
	if !ok {
		return false
	}
	cmp, err := resourceversion.CompareResourceVersion(cached, last.resourceVersion)
	if err != nil || cmp >= 0 || w.clock().Sub(last.at) > maxCacheLag {
		delete(w.last, key)
		return false
	}
	return true
}

// forget drops what is remembered of key (the session is gone).
func (w *writes) forget(key cache.ObjectName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.last, key)
}
