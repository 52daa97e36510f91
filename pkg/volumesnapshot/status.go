package volumesnapshot

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	"github.com/cairnbackup/cairn/pkg/volumeclaims"
)

// FieldManager names these runners in the managed fields of what they
// write (the data-mover runner's name: they are the same runner binary).
const FieldManager = "cairn-runner"

// finalPatchTimeout bounds the last status patch, sent even after the
// run's context ended (SIGTERM), inside the kubelet's 30 s grace period.
const finalPatchTimeout = 10 * time.Second

// apiBackoff spaces the attempts of a status patch the API server refused
// for a moment (about 6 s in all).
var apiBackoff = wait.Backoff{Steps: 5, Duration: 200 * time.Millisecond, Factor: 2, Jitter: 0.1}

// reporter writes one component's status of a Snapshot or RestoreSession
// with a JSON merge patch holding only that component's key, so runners of
// other components never overwrite each other.
type reporter struct {
	component string
	object    string
	send      func(ctx context.Context, body []byte) error
}

func snapshotReporter(c cairnclient.Interface, ns, name, component string) *reporter {
	return &reporter{component: component, object: "Snapshot " + ns + "/" + name, send: func(ctx context.Context, body []byte) error {
		_, err := c.StorageV1alpha1().Snapshots(ns).Patch(ctx, name, types.MergePatchType, body, metav1.PatchOptions{FieldManager: FieldManager}, "status")
		return err
	}}
}

func restoreReporter(c cairnclient.Interface, ns, name, component string) *reporter {
	return &reporter{component: component, object: "RestoreSession " + ns + "/" + name, send: func(ctx context.Context, body []byte) error {
		_, err := c.CoreV1alpha1().RestoreSessions(ns).Patch(ctx, name, types.MergePatchType, body, metav1.PatchOptions{FieldManager: FieldManager}, "status")
		return err
	}}
}

// patch merges fields into the component (a nil value removes a key),
// retrying while the API server is briefly unavailable.
func (r *reporter) patch(ctx context.Context, fields map[string]any) error {
	body, err := json.Marshal(map[string]any{"status": map[string]any{"components": map[string]any{r.component: fields}}})
	if err != nil {
		return err
	}
	err = retry.OnError(apiBackoff, func(err error) bool { return ctx.Err() == nil && volumeclaims.TransientAPIError(err) }, func() error { return r.send(ctx, body) })
	if err != nil {
		return fmt.Errorf("patching component %s of %s: %w", r.component, r.object, err)
	}
	return nil
}

// final sends the last patch of a run even when ctx has ended.
func (r *reporter) final(ctx context.Context, fields map[string]any) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalPatchTimeout)
	defer cancel()
	return r.patch(ctx, fields)
}
