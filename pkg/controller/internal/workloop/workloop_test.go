package workloop

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2/ktesting"

	"github.com/cairnbackup/cairn/pkg/metrics"
)

func TestProcessNextFollowsTheSyncResult(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	key := cache.ObjectName{Namespace: "ns", Name: "a"}
	cases := []struct {
		name      string
		res       Result
		err       error
		panics    bool
		result    string
		requeues  int
		delivered bool // delivered again shortly (AddAfter or rate-limited retry)
	}{
		{name: "success forgets", result: "success"},
		{name: "error retries with backoff", err: errors.New("boom"), result: "error", requeues: 1, delivered: true},
		{name: "panic is an error", panics: true, result: "error", requeues: 1, delivered: true},
		{name: "requeue after", res: After(10 * time.Millisecond), result: "requeue", delivered: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := metrics.New()
			calls := 0
			l := New("test-"+c.result, func(ctx context.Context, k cache.ObjectName) (Result, error) {
				calls++
				if k != key {
					t.Errorf("sync got %v, want %v", k, key)
				}
				if c.panics {
					panic("bad object")
				}
				return c.res, c.err
			}, m)
			defer l.Queue.ShutDown()
			l.Queue.Add(key)
			if !l.ProcessNext(ctx) {
				t.Fatal("ProcessNext returned false on a live queue")
			}
			if got := testutil.ToFloat64(m.Syncs.WithLabelValues(l.Kind, c.result)); got != 1 {
				t.Fatalf("syncs_total{result=%q} = %v, want 1", c.result, got)
			}
			if got := l.Queue.NumRequeues(key); got != c.requeues {
				t.Fatalf("NumRequeues = %d, want %d", got, c.requeues)
			}
			deadline := time.Now().Add(2 * time.Second)
			for l.Queue.Len() == 0 && time.Now().Before(deadline) && c.delivered {
				time.Sleep(5 * time.Millisecond)
			}
			if got := l.Queue.Len() == 1; got != c.delivered {
				t.Fatalf("queued again = %v, want %v", got, c.delivered)
			}
		})
	}
}

func TestHandlersDropResyncs(t *testing.T) {
	var got []any
	h := HandlersFunc(func(obj any) { got = append(got, obj) })
	a := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "a", ResourceVersion: "1"}}
	b := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "a", ResourceVersion: "2"}}
	h.OnUpdate(a, a)
	if len(got) != 0 {
		t.Fatalf("a resync (same resourceVersion) was enqueued")
	}
	h.OnUpdate(a, b)
	h.OnAdd(a, false)
	h.OnDelete(cache.DeletedFinalStateUnknown{Key: "ns/a", Obj: a})
	if len(got) != 3 {
		t.Fatalf("enqueued %d times, want 3", len(got))
	}
}

func TestEnqueueHandlesTombstones(t *testing.T) {
	l := New("tombstone", nil, nil)
	defer l.Queue.ShutDown()
	obj := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "gone"}}
	l.Enqueue(cache.DeletedFinalStateUnknown{Key: "ns/gone", Obj: obj})
	key, _ := l.Queue.Get()
	if key != (cache.ObjectName{Namespace: "ns", Name: "gone"}) {
		t.Fatalf("queued %v", key)
	}
}
