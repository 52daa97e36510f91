package volumesnapshot

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	snapclient "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/labels"
	"github.com/cairnbackup/cairn/pkg/names"
	"github.com/cairnbackup/cairn/pkg/volumeclaims"
)

// DriverVolumeSnapshotter is the Component.Driver of a VolumeSnapshot
// backup.
const DriverVolumeSnapshotter = "VolumeSnapshotter"

// Labels on the VolumeSnapshots Cairn creates, so they can be found from
// the session and the claim.
const (
	// LabelBackupSession names the BackupSession that took it.
	LabelBackupSession = "cairn.dev/backup-session"
	// LabelComponent names the Snapshot component it belongs to.
	LabelComponent = "cairn.dev/component"
	// LabelPVC names the snapshotted claim.
	LabelPVC = "cairn.dev/pvc"
)

// DefaultPollInterval is how often a runner looks at the objects it waits
// for (VolumeSnapshots, claims): one GET each, cheap next to a snapshot.
const DefaultPollInterval = 2 * time.Second

// DefaultReadyTimeout bounds the wait for a VolumeSnapshot to be ready
// when the task sets none.
const DefaultReadyTimeout = 10 * time.Minute

// Runner runs one component of a VolumeSnapshot backup or restore.
type Runner struct {
	// Cairn reads sessions and Snapshots and patches their status.
	Cairn cairnclient.Interface
	// Kube reads the snapshotted claims and creates restored ones.
	Kube kubernetes.Interface
	// Snapshots creates and reads VolumeSnapshots.
	Snapshots snapclient.Interface
	// PollInterval is DefaultPollInterval when zero.
	PollInterval time.Duration
}

func (r *Runner) interval() time.Duration {
	if r.PollInterval > 0 {
		return r.PollInterval
	}
	return DefaultPollInterval
}

// BackupRequest is one volume-snapshotter Job's work.
type BackupRequest struct {
	// Namespace of the session, its Snapshot and the claims.
	Namespace string
	// BackupSession is the session; its creation time names the snapshots.
	BackupSession string
	// Snapshot is the Snapshot object whose component this run reports.
	Snapshot string
	// Component is the component ("volumesnapshot", "volumesnapshot-pod-N").
	Component string
	// Claims are the claims of the component and their classes.
	Claims []Claim
	// ReadyTimeout bounds the wait for readyToUse (DefaultReadyTimeout if 0).
	ReadyTimeout time.Duration
	// Exports are the components that back these VolumeSnapshots up
	// through the engine (the task's export): when a VolumeSnapshot fails
	// they fail too, saying why, instead of waiting for it.
	Exports []string
}

// Validate says what a request lacks.
func (q *BackupRequest) Validate() error {
	var missing []string
	for _, f := range []struct{ name, v string }{{"namespace", q.Namespace}, {"backup-session", q.BackupSession}, {"snapshot", q.Snapshot}, {"component", q.Component}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(q.Claims) == 0 {
		missing = append(missing, "claims")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	for _, c := range q.Claims {
		if c.PVC == "" || c.Class == "" {
			return fmt.Errorf("claim %q needs a PVC and a VolumeSnapshotClass (PVC:CLASS)", c.PVC+":"+c.Class)
		}
	}
	return nil
}

// BackupResult is what a backup run took.
type BackupResult struct {
	Stats    []storagev1alpha1.VolumeSnapshotterStats
	Duration time.Duration
}

// Backup creates one VolumeSnapshot per claim, named <claim>-<unix seconds
// of the BackupSession's creation>, waits until every one is readyToUse
// (a status.error or the timeout fails the component with that message),
// and records them in the component's volumeSnapshotterStats. A
// VolumeSnapshot of that name that this session made before (a retried
// run, a second repository's Job) is reused; one of another origin is an
// error and is left alone.
func (r *Runner) Backup(ctx context.Context, q BackupRequest) (*BackupResult, error) {
	start := time.Now()
	rep := snapshotReporter(r.Cairn, q.Namespace, q.Snapshot, q.Component)
	res, err := r.backup(ctx, q, rep)
	if err != nil {
		msg := err.Error()
		if ctx.Err() != nil {
			msg = "interrupted (" + context.Cause(ctx).Error() + "): the VolumeSnapshots created so far are left for the storage system to finish; " + msg
		}
		errs := []error{err}
		errs = append(errs, rep.final(ctx, map[string]any{"phase": storagev1alpha1.ComponentFailed, "driver": DriverVolumeSnapshotter, "error": msg}))
		for _, ex := range q.Exports {
			exp := snapshotReporter(r.Cairn, q.Namespace, q.Snapshot, ex)
			errs = append(errs, exp.final(ctx, map[string]any{"phase": storagev1alpha1.ComponentFailed,
				"error": fmt.Sprintf("not exported: the VolumeSnapshots of component %s failed: %s", q.Component, msg)}))
		}
		return nil, errors.Join(errs...)
	}
	res.Duration = time.Since(start)
	size, _ := sumSizes(res.Stats)
	err = rep.final(ctx, map[string]any{"phase": storagev1alpha1.ComponentSucceeded, "driver": DriverVolumeSnapshotter, "error": nil,
		"duration": res.Duration.Round(time.Millisecond).String(), "size": nilIfEmpty(size), "volumeSnapshotterStats": res.Stats})
	return res, err
}

func (r *Runner) backup(ctx context.Context, q BackupRequest, rep *reporter) (*BackupResult, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	bs, err := r.Cairn.CoreV1alpha1().BackupSessions(q.Namespace).Get(ctx, q.BackupSession, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading BackupSession %s/%s: %w", q.Namespace, q.BackupSession, err)
	}
	if err := rep.patch(ctx, map[string]any{"phase": storagev1alpha1.ComponentRunning, "driver": DriverVolumeSnapshotter, "error": nil}); err != nil {
		return nil, err
	}
	unix := bs.CreationTimestamp.Unix()
	vss := r.Snapshots.SnapshotV1().VolumeSnapshots(q.Namespace)
	pending := map[string]Claim{}
	for _, c := range q.Claims {
		name := names.VolumeSnapshot(c.PVC, unix)
		if err := r.create(ctx, q, c, name); err != nil {
			return nil, err
		}
		pending[name] = c
	}
	timeout := q.ReadyTimeout
	if timeout <= 0 {
		timeout = DefaultReadyTimeout
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ready := map[string]*snapv1.VolumeSnapshot{}
	tick := time.NewTicker(r.interval())
	defer tick.Stop()
	for len(pending) > 0 {
		for name, c := range pending {
			vs, err := vss.Get(wctx, name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
				return nil, fmt.Errorf("VolumeSnapshot %s of PVC %s was deleted before it was ready", name, c.PVC)
			case err != nil && wctx.Err() == nil && !volumeclaims.TransientAPIError(err):
				return nil, fmt.Errorf("reading VolumeSnapshot %s: %w", name, err)
			case err != nil:
				continue
			}
			if st := vs.Status; st != nil && st.Error != nil && st.Error.Message != nil {
				return nil, fmt.Errorf("VolumeSnapshot %s of PVC %s failed: %s", name, c.PVC, *st.Error.Message)
			}
			if st := vs.Status; st != nil && st.ReadyToUse != nil && *st.ReadyToUse {
				ready[name] = vs
				delete(pending, name)
			}
		}
		if len(pending) == 0 {
			break
		}
		select {
		case <-wctx.Done():
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("VolumeSnapshot(s) %s not ready within %s (the task's readyTimeout): kubectl describe volumesnapshot shows what the CSI driver is doing", strings.Join(sortedKeys(pending), ", "), timeout)
		case <-tick.C:
		}
	}
	res := &BackupResult{}
	for _, c := range q.Claims {
		name := names.VolumeSnapshot(c.PVC, unix)
		vs := ready[name]
		st := storagev1alpha1.VolumeSnapshotterStats{PVCName: c.PVC, HostName: q.Component, VolumeSnapshotName: name, CreationTime: vs.Status.CreationTime}
		if size := r.restoreSize(ctx, q.Namespace, c.PVC, vs); !size.IsZero() {
			st.RestoreSize = size.String()
		}
		res.Stats = append(res.Stats, st)
	}
	klog.FromContext(ctx).Info("VolumeSnapshots ready", "component", q.Component, "count", len(res.Stats))
	return res, nil
}

// restoreSize is what a claim restored from vs needs: the larger of the
// driver's restoreSize (a minimum, which some drivers report as the data
// held rather than the volume) and the snapshotted claim's capacity (or
// request), so a restore gets the room the application had.
func (r *Runner) restoreSize(ctx context.Context, ns, claim string, vs *snapv1.VolumeSnapshot) resource.Quantity {
	var size resource.Quantity
	if vs.Status.RestoreSize != nil {
		size = vs.Status.RestoreSize.DeepCopy()
	}
	pvc, err := r.Kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, claim, metav1.GetOptions{})
	if err != nil {
		return size
	}
	had, ok := pvc.Status.Capacity[corev1.ResourceStorage]
	if !ok {
		had = pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	}
	if had.Cmp(size) > 0 {
		return had
	}
	return size
}

// create makes the VolumeSnapshot of one claim, or adopts the one this
// session made before.
func (r *Runner) create(ctx context.Context, q BackupRequest, c Claim, name string) error {
	vs := &snapv1.VolumeSnapshot{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: q.Namespace, Labels: map[string]string{
			labels.ManagedBy: labels.ManagedByValue, LabelBackupSession: q.BackupSession, LabelComponent: q.Component, LabelPVC: c.PVC,
		}},
		Spec: snapv1.VolumeSnapshotSpec{Source: snapv1.VolumeSnapshotSource{PersistentVolumeClaimName: &c.PVC}, VolumeSnapshotClassName: &c.Class},
	}
	vss := r.Snapshots.SnapshotV1().VolumeSnapshots(q.Namespace)
	_, err := vss.Create(ctx, vs, metav1.CreateOptions{FieldManager: FieldManager})
	if err == nil {
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating VolumeSnapshot %s of PVC %s: %w", name, c.PVC, err)
	}
	existing, err := vss.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading the existing VolumeSnapshot %s: %w", name, err)
	}
	src := existing.Spec.Source.PersistentVolumeClaimName
	if existing.Labels[LabelBackupSession] != q.BackupSession || src == nil || *src != c.PVC {
		return fmt.Errorf("VolumeSnapshot %s already exists and was not made by this BackupSession for PVC %s: it is left alone; delete or rename it", name, c.PVC)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sumSizes adds the stats' restore sizes, when every one is known.
func sumSizes(stats []storagev1alpha1.VolumeSnapshotterStats) (string, bool) {
	var total resource.Quantity
	for _, st := range stats {
		q, err := resource.ParseQuantity(st.RestoreSize)
		if err != nil {
			return "", false
		}
		total.Add(q)
	}
	return total.String(), len(stats) > 0
}

// nilIfEmpty removes a status key (merge patch) instead of writing "".
func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
