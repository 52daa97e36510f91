package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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
// time from stale reads, never undo each other.
func componentPatch(name string, f fields) ([]byte, error) {
	return json.Marshal(map[string]any{"status": map[string]any{"components": map[string]any{name: f}}})
}

// componentStatus writes one component's status of a Snapshot or a
// RestoreSession.
type componentStatus struct {
	component string
	// object names the patched object in logs ("Snapshot ns/name").
	object string
	send   func(ctx context.Context, body []byte) error
}

func (r *Runner) snapshotStatus(ns, name, component string) *componentStatus {
	return &componentStatus{component: component, object: "Snapshot " + ns + "/" + name,
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

// patch sends f for the component.
func (s *componentStatus) patch(ctx context.Context, f fields) error {
	body, err := componentPatch(s.component, f)
	if err != nil {
		return err
	}
	if err := s.send(ctx, body); err != nil {
		return fmt.Errorf("patching component %s of %s: %w", s.component, s.object, err)
	}
	return nil
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
// the last patch, which clears the progress. A failed patch is logged and
// the work goes on: progress is a courtesy, the result is what counts.
func (s *componentStatus) progress(ctx context.Context) progress.Func {
	return func(st progress.Status) {
		if st.Done {
			return
		}
		if err := s.patch(ctx, fields{"progress": toProgress(st)}); err != nil && ctx.Err() == nil {
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
