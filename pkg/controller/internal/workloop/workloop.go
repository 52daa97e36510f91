// Package workloop is the plumbing every Cairn controller shares: a named,
// typed, rate-limited workqueue of object names, the worker loop that drains
// it into a sync function, and event handlers that only enqueue. A sync
// returns a Result (when to look again) and an error (retry with backoff), the
// shape of the CronJob v2 controller, so time-driven steps (schedules,
// deadlines, re-checks) requeue themselves instead of polling.
package workloop

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/cairnbackup/cairn/pkg/metrics"
)

// Queue is a controller's workqueue of object names.
type Queue = workqueue.TypedRateLimitingInterface[cache.ObjectName]

// Result says what the loop does after a successful sync.
type Result struct {
	// RequeueAfter, when positive, syncs the object again after this long
	// (a schedule, a deadline or a periodic re-check is due).
	RequeueAfter time.Duration
}

// After is a Result that looks at the object again after d.
func After(d time.Duration) Result { return Result{RequeueAfter: d} }

// Done is a Result for a sync with nothing time-driven pending.
func Done() Result { return Result{} }

// SyncFunc brings one object (by name) to its desired state. An error is
// retried with the queue's backoff; a permanent problem (a bad spec) must be
// reported in status or an Event and return a nil error.
type SyncFunc func(ctx context.Context, key cache.ObjectName) (Result, error)

// Loop drains one queue into one sync function.
type Loop struct {
	// Kind names the loop in logs and metrics ("backupstorage", ...); it is
	// also the queue's name, which labels the workqueue metrics.
	Kind    string
	Queue   Queue
	sync    SyncFunc
	metrics *metrics.Registry
	now     func() time.Time
}

// New makes a loop with its own named rate-limited queue. m may be nil.
func New(kind string, sync SyncFunc, m *metrics.Registry) *Loop {
	q := workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.DefaultTypedControllerRateLimiter[cache.ObjectName](),
		workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: kind})
	return &Loop{Kind: kind, Queue: q, sync: sync, metrics: m, now: time.Now}
}

// Run starts workers goroutines and blocks until ctx is done, then shuts
// the queue down and waits for in-flight syncs to return.
func (l *Loop) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrash()
	logger := klog.FromContext(ctx).WithValues("controller", l.Kind)
	ctx = klog.NewContext(ctx, logger)
	logger.Info("Starting workers", "count", workers)
	done := make(chan struct{}, workers)
	for i := 0; i < workers; i++ {
		go func() {
			defer func() { done <- struct{}{} }()
			wait.UntilWithContext(ctx, l.runWorker, time.Second)
		}()
	}
	<-ctx.Done()
	l.Queue.ShutDown()
	for i := 0; i < workers; i++ {
		<-done
	}
	logger.Info("Workers stopped")
}

func (l *Loop) runWorker(ctx context.Context) {
	for l.ProcessNext(ctx) {
	}
}

// ProcessNext syncs the next queued name; it returns false once the queue
// is shut down. Tests call it to drive a controller step by step.
func (l *Loop) ProcessNext(ctx context.Context) bool {
	key, shutdown := l.Queue.Get()
	if shutdown {
		return false
	}
	defer l.Queue.Done(key)
	logger := klog.FromContext(ctx).WithValues("key", key.String())
	start := l.now()
	res, err := l.safeSync(klog.NewContext(ctx, logger), key)
	seconds := l.now().Sub(start).Seconds()
	switch {
	case err != nil:
		l.metrics.ObserveSync(l.Kind, "error", seconds)
		logger.Error(err, "Sync failed; retrying with backoff", "retries", l.Queue.NumRequeues(key))
		l.Queue.AddRateLimited(key)
	case res.RequeueAfter > 0:
		l.metrics.ObserveSync(l.Kind, "requeue", seconds)
		l.Queue.Forget(key)
		l.Queue.AddAfter(key, res.RequeueAfter)
	default:
		l.metrics.ObserveSync(l.Kind, "success", seconds)
		l.Queue.Forget(key)
	}
	return true
}

// safeSync turns a panic in sync into an error, so one bad object cannot
// take the whole operator down.
func (l *Loop) safeSync(ctx context.Context, key cache.ObjectName) (res Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in %s sync: %v", l.Kind, r)
		}
	}()
	return l.sync(ctx, key)
}

// Enqueue adds obj's name to the queue (also for a tombstone from a
// delete event).
func (l *Loop) Enqueue(obj any) {
	name, err := cache.DeletionHandlingObjectToName(obj)
	if err != nil {
		utilruntime.HandleError(fmt.Errorf("%s: cannot enqueue %T: %w", l.Kind, obj, err))
		return
	}
	l.Queue.Add(name)
}

// EnqueueName adds a name to the queue; cross-kind wake-ups use it.
func (l *Loop) EnqueueName(namespace, name string) {
	l.Queue.Add(cache.ObjectName{Namespace: namespace, Name: name})
}

// Handlers enqueues the object itself on add, update and delete. Updates
// whose resourceVersion did not change (informer resyncs) are dropped.
func (l *Loop) Handlers() cache.ResourceEventHandlerFuncs {
	return HandlersFunc(l.Enqueue)
}

// HandlersFunc calls enqueue on add, update and delete, dropping updates
// whose resourceVersion did not change. Controllers use it to map a watched
// object to the owner that should be synced.
func HandlersFunc(enqueue func(obj any)) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue,
		UpdateFunc: func(oldObj, newObj any) {
			if sameVersion(oldObj, newObj) {
				return
			}
			enqueue(newObj)
		},
		DeleteFunc: enqueue,
	}
}

func sameVersion(a, b any) bool {
	type versioned interface{ GetResourceVersion() string }
	va, ok1 := a.(versioned)
	vb, ok2 := b.(versioned)
	return ok1 && ok2 && va.GetResourceVersion() == vb.GetResourceVersion()
}

// MetaOf returns the object metadata of an informer event's object,
// unwrapping a delete tombstone.
func MetaOf(obj any) (metav1.Object, error) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("unexpected %T", obj)
	}
	return m, nil
}
