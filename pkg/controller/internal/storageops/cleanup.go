package storageops

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
)

// Event reasons of a deletion's cleanup, the same for every kind.
const (
	EventDataKept         = "DataKept"
	EventWiped            = "DataWiped"
	EventWipeFailed       = "WipeFailed"
	EventCleanupAbandoned = "CleanupAbandoned"
)

// Deleted is an object whose deletionPolicy is being carried out.
type Deleted interface {
	runtime.Object
	metav1.Object
}

// Cleanup carries out the part of a finalizer that both kinds share:
// reporting a wipe's outcome and deciding when to stop trying.
type Cleanup struct {
	Recorder record.EventRecorder
	Backoff  *Backoff
	// Logger records what a give-up left behind (the zero Logger discards).
	Logger klog.Logger
}

// Kept reports that deletionPolicy keeps the data in where; the finalizer
// goes.
func (c Cleanup) Kept(obj Deleted, policy, where string) {
	c.Recorder.Eventf(obj, corev1.EventTypeNormal, EventDataKept, "deletionPolicy is %s: the data in %s is kept", policy, where)
}

// Wiped reports a wipe of where that deleted n objects and failed with
// err (nil: done), and says whether to remove the finalizer now or look
// again after requeue. Past GiveUpAt it gives up with a Warning Event
// naming what was left, so a gone backend or Secret never wedges a
// namespace.
func (c Cleanup) Wiped(obj Deleted, where string, n int, err error, now time.Time) (release bool, requeue time.Duration) {
	if err == nil {
		c.Recorder.Eventf(obj, corev1.EventTypeNormal, EventWiped, "deletionPolicy is WipeOut: deleted %d objects in %s", n, where)
		c.Backoff.Succeeded(obj.GetUID())
		return true, 0
	}
	giveUp := GiveUpAt(obj)
	if !now.Before(giveUp) {
		c.Abandon(obj, where, n, err, "after "+GiveUpAfter.String())
		return true, 0
	}
	c.Recorder.Eventf(obj, corev1.EventTypeWarning, EventWipeFailed, "Could not wipe %s yet, retrying until %s: %v", where, giveUp.UTC().Format(time.RFC3339), err)
	return false, min(c.Backoff.Failed(obj.GetUID()), giveUp.Sub(now)+time.Second)
}

// Abandon gives up wiping where at once, with a Warning Event (and a log
// line: in a namespace being deleted the Event is refused) naming what was
// left; when says when or why ("after 10m0s", "at once: ...").
func (c Cleanup) Abandon(obj Deleted, where string, n int, err error, when string) {
	c.Logger.Info("Gave up wiping the data of a deleted object", "object", klog.KObj(obj), "where", where, "when", when, "deleted", n, "err", err)
	c.Recorder.Eventf(obj, corev1.EventTypeWarning, EventCleanupAbandoned,
		"Gave up wiping %s %s: %v. The data was left in place (%d objects were deleted first): delete it with the store's own tools", where, when, err, n)
	c.Backoff.Succeeded(obj.GetUID())
}

// NamespaceGetter finds a namespace (the operator's namespace lister).
type NamespaceGetter interface {
	Get(name string) (*corev1.Namespace, error)
}

// Terminating reports whether namespace is being deleted. Nothing can be
// created in it any more, so a Secret or BackupStorage missing from it can
// never come back, and a finalizer waiting for one would only hold the
// namespace's deletion up until GiveUpAfter.
func Terminating(namespaces NamespaceGetter, namespace string) bool {
	ns, err := namespaces.Get(namespace)
	return err == nil && ns.DeletionTimestamp != nil
}

// Settle ends a wipe attempt of obj's data in where (n objects deleted,
// err nil when done): when hopeless says why waiting cannot help, it
// gives up at once, otherwise as Wiped does. It says whether to release
// the finalizer now or look again after requeue.
func (c Cleanup) Settle(obj Deleted, where string, n int, err error, hopeless string, now time.Time) (release bool, requeue time.Duration) {
	if hopeless != "" {
		c.Abandon(obj, where, n, err, hopeless)
		return true, 0
	}
	return c.Wiped(obj, where, n, err, now)
}
