// Package storageops is what the BackupStorage and Repository controllers
// share about the bucket side of their objects: the cluster's identity
// (recorded in metadata.yaml and repository.yaml), the finalizer that
// removes data on WipeOut with its bounded give-up, the re-check backoff,
// and conditions that keep their transition time while unchanged.
package storageops

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// Finalizer is on every BackupStorage and Repository the operator has
// seen, so their deletionPolicy is carried out before they go.
const Finalizer = "storage.cairn.dev/cleanup"

// GiveUpAfter bounds how long a finalizer keeps trying to remove data
// after deletion was asked for: a backend or Secret that is gone must not
// wedge a namespace's deletion.
const GiveUpAfter = 10 * time.Minute

// ClusterNamespace is the namespace whose UID identifies the cluster: it
// exists in every cluster and is never deleted.
const ClusterNamespace = "kube-system"

// ClusterID reads the cluster's identity once, and again only after a
// failure.
type ClusterID struct {
	kube kubernetes.Interface
	mu   sync.Mutex
	id   string
}

// NewClusterID reads the identity through kube.
func NewClusterID(kube kubernetes.Interface) *ClusterID { return &ClusterID{kube: kube} }

// Get returns the UID of the kube-system namespace.
func (c *ClusterID) Get(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.id != "" {
		return c.id, nil
	}
	ns, err := c.kube.CoreV1().Namespaces().Get(ctx, ClusterNamespace, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("reading the cluster's identity (namespace %s): %w", ClusterNamespace, err)
	}
	c.id = string(ns.UID)
	return c.id, nil
}

// HasFinalizer reports whether obj carries Finalizer.
func HasFinalizer(obj metav1.Object) bool { return slices.Contains(obj.GetFinalizers(), Finalizer) }

// WithFinalizer is obj's finalizers with Finalizer added.
func WithFinalizer(obj metav1.Object) []string {
	return append(slices.Clone(obj.GetFinalizers()), Finalizer)
}

// WithoutFinalizer is obj's finalizers with Finalizer removed.
func WithoutFinalizer(obj metav1.Object) []string {
	return slices.DeleteFunc(slices.Clone(obj.GetFinalizers()), func(f string) bool { return f == Finalizer })
}

// GiveUpAt is when the finalizer of an object being deleted stops trying.
func GiveUpAt(obj metav1.Object) time.Time {
	if ts := obj.GetDeletionTimestamp(); ts != nil {
		return ts.Add(GiveUpAfter)
	}
	return time.Time{}
}

// Backoff spaces the re-checks of objects whose backend failed: the first
// retry comes soon (a Secret just being created), later ones less often.
type Backoff struct {
	mu       sync.Mutex
	failures map[types.UID]int
}

// Backoff delays.
const (
	firstRetry = 10 * time.Second
	maxRetry   = 5 * time.Minute
)

// Failed records a failure of uid and returns when to look again.
func (b *Backoff) Failed(uid types.UID) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures == nil {
		b.failures = map[types.UID]int{}
	}
	n := b.failures[uid]
	b.failures[uid] = n + 1
	d := firstRetry << min(n, 10)
	return min(d, maxRetry)
}

// Succeeded forgets uid's failures.
func (b *Backoff) Succeeded(uid types.UID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.failures, uid)
}

// MergeConditions returns want with each condition's LastTransitionTime
// taken from old when its status did not change, and now otherwise; so
// an unchanged state gives an identical status and no write.
func MergeConditions(old, want []metav1.Condition, generation int64, now time.Time) []metav1.Condition {
	out := make([]metav1.Condition, 0, len(want))
	for _, c := range want {
		c.ObservedGeneration = generation
		if o := meta.FindStatusCondition(old, c.Type); o != nil && o.Status == c.Status {
			c.LastTransitionTime = o.LastTransitionTime
		} else {
			c.LastTransitionTime = metav1.NewTime(now.Truncate(time.Second))
		}
		out = append(out, c)
	}
	return out
}

// Condition is a shorthand for a metav1.Condition of status true or false.
func Condition(condType string, ok bool, reason, message string) metav1.Condition {
	s := metav1.ConditionFalse
	if ok {
		s = metav1.ConditionTrue
	}
	return metav1.Condition{Type: condType, Status: s, Reason: reason, Message: message}
}
