// Package retentionpolicy checks RetentionPolicies. A RetentionPolicy has
// no status of its own (it is a shared setting, like KubeStash's), so a
// policy the API server accepted but that cannot work (a period such as
// "30 days", a negative count) is reported with a Warning Event on it, once
// per generation; the BackupConfigurations that use it say so in their own
// conditions.
package retentionpolicy

import (
	"context"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	listers "github.com/cairnbackup/cairn/client/listers/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/controller/internal/workloop"
)

// Kind names this controller's queue and metrics.
const Kind = "retentionpolicy"

// Event reasons.
const (
	// ReasonInvalid: the policy cannot be applied; the message says why.
	ReasonInvalid = "InvalidRetentionPolicy"
)

// Controller validates RetentionPolicies.
type Controller struct {
	loop     *workloop.Loop
	policies listers.RetentionPolicyLister
	recorder record.EventRecorder

	mu       sync.Mutex
	reported map[types.UID]int64 // generation last reported invalid
}

// New registers the controller's informer handlers.
func New(d controller.Deps) *Controller {
	inf := d.Informers.Cairn.Storage().V1alpha1().RetentionPolicies()
	c := &Controller{policies: inf.Lister(), recorder: d.Recorder, reported: map[types.UID]int64{}}
	c.loop = workloop.New(Kind, c.sync, d.Metrics)
	_, _ = inf.Informer().AddEventHandler(c.loop.Handlers())
	return c
}

// Run processes the queue until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) { c.loop.Run(ctx, workers) }

func (c *Controller) sync(ctx context.Context, key cache.ObjectName) (workloop.Result, error) {
	rp, err := c.policies.RetentionPolicies(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		return workloop.Done(), nil
	}
	if err != nil {
		return workloop.Done(), err
	}
	verr := rp.Spec.Validate()
	c.mu.Lock()
	defer c.mu.Unlock()
	if verr == nil {
		delete(c.reported, rp.UID)
		return workloop.Done(), nil
	}
	if c.reported[rp.UID] == rp.Generation {
		return workloop.Done(), nil
	}
	c.reported[rp.UID] = rp.Generation
	klog.FromContext(ctx).V(2).Info("Invalid RetentionPolicy", "retentionPolicy", klog.KObj(rp), "reason", verr.Error())
	c.recorder.Event(rp, "Warning", ReasonInvalid, fmt.Sprintf("%v; fix the RetentionPolicy: BackupConfigurations using it stay NotReady until then", verr))
	return workloop.Done(), nil
}
