// Package ownwrites lets a controller tell its informer's copy of an
// object from one older than its own last status write, so a sync on the
// older copy waits instead of redoing work or writing a status that
// conflicts.
package ownwrites

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/resourceversion"
	"k8s.io/client-go/tools/cache"
)

// MaxLag bounds how long a sync waits for the informer to deliver the
// operator's own status write: a cache further behind than that has lost
// its watch (the informer relists), and the sync goes on with what it has,
// as it would without this wait (a status written from an old copy
// conflicts; no harm but a write).
const MaxLag = 30 * time.Second

// Recheck is when a sync that waits for the cache looks again, should
// the informer's own update (which wakes the session at once) be late.
const Recheck = time.Second

// Tracker remembers the resourceVersion of the operator's last status write
// of each object until the informer's cache holds that version or a newer
// one. The children a sync creates wake their parent at once, before the
// informer delivered the status the sync wrote: a sync on that older copy
// would do its work a second time (a BackupSession started twice: creates
// answered AlreadyExists, a second Event) or write a status that conflicts
// (make bench-sessions counted about three writes per session). Such a
// sync waits for the cache instead: Behind, then workloop.After(Recheck).
//
// The wait is measured on the wall clock, not the controller's now (which
// tests stop): it is about how far the informer is behind the API server,
// not about the session's schedule. Resource versions are compared as the
// API server's numbers; one that is not a number (a fake API server in
// tests keeps them empty) is never waited for.
type Tracker struct {
	mu   sync.Mutex
	last map[cache.ObjectName]written
	// Clock is the wall clock; tests move it.
	Clock func() time.Time
}

type written struct {
	resourceVersion string
	at              time.Time
}

// New returns an empty Tracker.
func New() *Tracker {
	return &Tracker{last: map[cache.ObjectName]written{}, Clock: time.Now}
}

// Wrote records that the operator wrote key's status at resourceVersion.
func (w *Tracker) Wrote(key cache.ObjectName, resourceVersion string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last[key] = written{resourceVersion: resourceVersion, at: w.Clock()}
}

// Behind reports that cached, the resourceVersion of key in the
// informer's cache, is older than the operator's last status write of key
// (and that write is recent). Once the cache caught up, or the wait is
// over, key is forgotten.
func (w *Tracker) Behind(key cache.ObjectName, cached string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	last, ok := w.last[key]
	if !ok {
		return false
	}
	cmp, err := resourceversion.CompareResourceVersion(cached, last.resourceVersion)
	if err != nil || cmp >= 0 || w.Clock().Sub(last.at) > MaxLag {
		delete(w.last, key)
		return false
	}
	return true
}

// Forget drops what is remembered of key (the object is gone).
func (w *Tracker) Forget(key cache.ObjectName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.last, key)
}
