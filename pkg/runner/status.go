package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/progress"
)

// FieldManager names the runner in the managed fields of what it patches.
const FieldManager = "cairn-runner"

// fields are the keys of one component's status to set; a nil value
// removes the key (JSON merge patch semantics).
type fields map[string]any

// componentPatch is a JSON merge patch that touches status.components[name]
// and nothing else, so runners of other components, patching at the same
// time from stale reads, never undo each other. The runner of a Snapshot's
// only component adds the Snapshot's phase (sole).
func componentPatch(name string, f fields, sole bool) ([]byte, error) {
	status := map[string]any{"components": map[string]any{name: f}}
	if phase, ok := f["phase"].(storagev1.ComponentPhase); ok && sole {
		// The phase the operator computes for a Snapshot of this one
		// component, so it has nothing to write.
		one := storagev1.SnapshotStatus{TotalComponents: 1, Components: map[string]storagev1.Component{name: {Phase: phase}}}
		status["totalComponents"] = one.TotalComponents
		status["phase"] = one.CalculatePhase()
		status["lastUpdateTime"] = metav1.Now()
	}
	return json.Marshal(map[string]any{"status": status})
}

// componentStatus writes one component's status of a Snapshot or a
// RestoreSession.
type componentStatus struct {
	component string
	// object names the patched object in logs ("Snapshot ns/name").
	object string
	// sole is set when the component is its Snapshot's only one.
	sole bool
	send func(ctx context.Context, body []byte) error
}

// snapshotStatus writes component of snap.
func (r *Runner) snapshotStatus(snap *storagev1.Snapshot, component string) *componentStatus {
	ns, name := snap.Namespace, snap.Name
	return &componentStatus{component: component, object: "Snapshot " + ns + "/" + name, sole: snap.Annotations[storagev1.ComponentsAnnotation] == component,
		send: func(ctx context.Context, body []byte) error {
			_, err := r.Cairn.StorageV1alpha1().Snapshots(ns).Patch(ctx, name, types.MergePatchType, body, metav1.PatchOptions{FieldManager: FieldManager}, "status")
			return err
		}}
}

func (r *Runner) restoreStatus(ns, name, component string) *componentStatus {
	return &componentStatus{component: component, object: "RestoreSession " + ns + "/" + name,
		send: func(ctx context.Context, body []byte) error {
			_, err := r.Cairn.CoreV1alpha1().RestoreSessions(ns).Patch(ctx, name, types.MergePatchType, body, metav1.PatchOptions{FieldManager: FieldManager}, "status")
			return err
		}}
}

// patch sends f for the component, retrying while the API server is
// briefly unavailable.
func (s *componentStatus) patch(ctx context.Context, f fields) error {
	return s.write(ctx, f, true)
}

func (s *componentStatus) write(ctx context.Context, f fields, retrying bool) error {
	body, err := componentPatch(s.component, f, s.sole)
	if err != nil {
		return err
	}
	send := func() error { return s.send(ctx, body) }
	if retrying {
		_, err = withRetry(ctx, func() (struct{}, error) { return struct{}{}, send() })
	} else {
		err = send()
	}
	if err != nil {
		return fmt.Errorf("patching component %s of %s: %w", s.component, s.object, err)
	}
	return nil
}

// apiBackoff spaces the attempts of an API call that failed for a moment
// (an API server restarting, throttling, a dropped connection): about 6 s
// in all, inside finalPatchTimeout, so a blip does not lose a result.
var apiBackoff = wait.Backoff{Steps: 5, Duration: 200 * time.Millisecond, Factor: 2, Jitter: 0.1}

// withRetry calls fn until it succeeds, fails for good, or apiBackoff or
// ctx runs out.
func withRetry[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	var v T
	err := retry.OnError(apiBackoff, func(err error) bool { return ctx.Err() == nil && transient(err) }, func() error {
		var err error
		v, err = fn()
		return err
	})
	return v, err
}

// grantBackoff spaces the attempts of a backup runner's first read, of its
// Snapshot. The operator creates a backup Job before the Role that lets its
// runner read the Snapshot (two slow RBAC writes off the way to the Job of
// a burst of sessions; the pod takes seconds to start anyway), so a
// Forbidden then means "not yet": it is retried, with the transient errors,
// for about 28 s, after which it means "no".
var grantBackoff = wait.Backoff{Steps: 11, Duration: 250 * time.Millisecond, Factor: 1.5, Jitter: 0.1}

// firstRead is withRetry for a runner's first API read, which may come
// before its Role does (see grantBackoff).
func firstRead[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	var v T
	err := retry.OnError(grantBackoff, func(err error) bool {
		return ctx.Err() == nil && (transient(err) || apierrors.IsForbidden(err))
	}, func() error {
		var err error
		v, err = fn()
		return err
	})
	return v, err
}

// transient reports an API error worth another attempt.
func transient(err error) bool {
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err) ||
		utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err)
}

// final sends the last patch of a run even when ctx has ended (SIGTERM),
// within finalPatchTimeout.
func (s *componentStatus) final(ctx context.Context, f fields) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalPatchTimeout)
	defer cancel()
	return s.patch(ctx, f)
}

// progress returns a progress.Func that patches the component's progress.
// The tracker calls it every interval; the final report (Done) is left to
// the last patch, which clears the progress. A failed patch is logged, not
// retried (the next interval sends newer numbers), and the work goes on:
// progress is a courtesy, the result is what counts.
func (s *componentStatus) progress(ctx context.Context) progress.Func {
	return func(st progress.Status) {
		if st.Done {
			return
		}
		if err := s.write(ctx, fields{"progress": toProgress(st)}, false); err != nil && ctx.Err() == nil {
			klog.FromContext(ctx).Error(err, "Progress not recorded")
		}
	}
}

func toProgress(st progress.Status) storagev1.Progress {
	p := storagev1.Progress{BytesDone: st.BytesDone, BytesTotal: st.BytesTotal, FilesDone: st.FilesDone, FilesTotal: st.FilesTotal}
	if st.ETA > 0 {
		p.ETA = st.ETA.Round(time.Second).String()
	}
	return p
}

// finish records the end of a run whose error is err: Failed with err
// explained (left says what an interruption leaves behind), or Succeeded
// with the fields of done, which is called only then (a partial run's
// error names the files skipped). It returns err, joined with the
// patch's own error if the status could not be written.
func (s *componentStatus) finish(ctx context.Context, err error, left string, done func() fields) error {
	var f fields
	if err != nil && !errors.Is(err, ErrPartial) {
		f = fields{"phase": storagev1.ComponentFailed, "error": describe(ctx, err, left)}
	} else {
		f = done()
		f["phase"], f["progress"], f["error"] = storagev1.ComponentSucceeded, nil, nil
		if err != nil {
			f["error"] = err.Error()
		}
	}
	if perr := s.final(ctx, f); perr != nil {
		return errors.Join(err, perr)
	}
	return err
}
