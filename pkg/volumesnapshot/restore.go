package volumesnapshot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/labels"
	"github.com/cairnbackup/cairn/pkg/volumeclaims"
)

// LabelRestoreSession names, on a restored claim, the RestoreSession that
// created it.
const LabelRestoreSession = "cairn.dev/restore-session"

// DefaultBindTimeout bounds the wait for a restored claim to be Bound when
// the task sets none.
const DefaultBindTimeout = 10 * time.Minute

// Templates are the volumeClaimTemplates of a RestoreSession: those of the
// first of its tasks that has any.
func Templates(rs *corev1alpha1.RestoreSession) []corev1.PersistentVolumeClaimTemplate {
	for _, t := range rs.Spec.Addon.Tasks {
		if t.TargetVolumes != nil && len(t.TargetVolumes.VolumeClaimTemplates) > 0 {
			return t.TargetVolumes.VolumeClaimTemplates
		}
	}
	return nil
}

// Claims renders the claims that restore one component of a VolumeSnapshot
// backup: the templates for the component's replica ordinal, each with a
// dataSourceRef to one of the component's VolumeSnapshots. A template that
// sets a dataSourceRef (or dataSource) itself picks its VolumeSnapshot by
// name, or by the name of the claim it was taken from; the others take the
// component's VolumeSnapshots in order. A template without a storage
// request asks for the snapshot's restore size. Errors say which template
// and which snapshots there are.
func Claims(ns string, templates []corev1.PersistentVolumeClaimTemplate, component string, comp storagev1alpha1.Component) ([]*corev1.PersistentVolumeClaim, error) {
	if len(templates) == 0 {
		return nil, errors.New("the restore names no volumeClaimTemplates: the volume-snapshot-restore task creates the claims they describe")
	}
	var ordinal *int32
	if n, ok := volumeclaims.Ordinal(component); ok {
		ordinal = &n
	}
	claims, err := volumeclaims.Render(ns, templates, ordinal)
	if err != nil {
		return nil, err
	}
	stats := comp.VolumeSnapshotterStats
	used := make([]bool, len(stats))
	held := make([]string, 0, len(stats))
	for _, s := range stats {
		held = append(held, fmt.Sprintf("%s (of PVC %s)", s.VolumeSnapshotName, s.PVCName))
	}
	pick := func(c *corev1.PersistentVolumeClaim) (int, error) {
		want := ""
		if ref := c.Spec.DataSourceRef; ref != nil {
			want = ref.Name
		} else if ref := c.Spec.DataSource; ref != nil {
			want = ref.Name
		}
		for i, s := range stats {
			if want == "" && !used[i] || want != "" && (s.VolumeSnapshotName == want || s.PVCName == want) {
				return i, nil
			}
		}
		if want != "" {
			return 0, fmt.Errorf("claim %s asks for %s, which component %s does not hold (it holds %s)", c.Name, want, component, strings.Join(held, ", "))
		}
		return 0, fmt.Errorf("claim %s has no VolumeSnapshot left to restore from: component %s holds %d (%s) and the templates ask for %d claims", c.Name, component, len(stats), strings.Join(held, ", "), len(claims))
	}
	for _, c := range claims {
		i, err := pick(c)
		if err != nil {
			return nil, err
		}
		used[i] = true
		s := stats[i]
		c.Spec.DataSource = nil
		c.Spec.DataSourceRef = &corev1.TypedObjectReference{APIGroup: ptr(snapv1.GroupName), Kind: "VolumeSnapshot", Name: s.VolumeSnapshotName}
		if _, ok := c.Spec.Resources.Requests[corev1.ResourceStorage]; !ok {
			size, err := resource.ParseQuantity(s.RestoreSize)
			if err != nil {
				return nil, fmt.Errorf("claim %s asks for no storage size and VolumeSnapshot %s recorded none: set spec.resources.requests.storage in its template", c.Name, s.VolumeSnapshotName)
			}
			if c.Spec.Resources.Requests == nil {
				c.Spec.Resources.Requests = corev1.ResourceList{}
			}
			c.Spec.Resources.Requests[corev1.ResourceStorage] = size
		}
	}
	return claims, nil
}

func ptr[T any](v T) *T { return &v }

// RestoreRequest is one volume-snapshot-restore Job's work.
type RestoreRequest struct {
	// Namespace of the RestoreSession, the Snapshot and the claims.
	Namespace string
	// RestoreSession whose templates give the claims.
	RestoreSession string
	// Snapshot is the Snapshot object restored (resolved by the operator).
	Snapshot string
	// Component is the Snapshot component restored.
	Component string
	// WaitBound are the claims whose class binds at once: the run waits
	// until they are Bound. Others (WaitForFirstConsumer) bind when a pod
	// uses them.
	WaitBound []string
	// BindTimeout bounds that wait (DefaultBindTimeout if 0).
	BindTimeout time.Duration
}

// RestoreResult is what a restore run created.
type RestoreResult struct {
	// Claims are the claims created, with their sources and phases.
	Claims   []corev1alpha1.RestoredClaim
	Duration time.Duration
}

// Names are the names of the claims created.
func (r *RestoreResult) Names() []string {
	out := make([]string, 0, len(r.Claims))
	for _, c := range r.Claims {
		out = append(out, c.Name)
	}
	return out
}

// Restore creates the component's claims from the session's templates,
// each restoring one of the component's VolumeSnapshots, and waits for the
// ones in q.WaitBound to be Bound. A claim that exists and that this
// restore did not create is an error naming it; it is never overwritten.
func (r *Runner) Restore(ctx context.Context, q RestoreRequest) (*RestoreResult, error) {
	start := time.Now()
	rep := restoreReporter(r.Cairn, q.Namespace, q.RestoreSession, q.Component)
	res, err := r.restore(ctx, q, rep)
	var claims any
	if res != nil && len(res.Claims) > 0 {
		claims = res.Claims
	}
	if err != nil {
		msg := err.Error()
		if ctx.Err() != nil {
			msg = "interrupted (" + context.Cause(ctx).Error() + "): " + msg
		}
		if perr := rep.final(ctx, map[string]any{"phase": storagev1alpha1.ComponentFailed, "error": msg, "claims": claims}); perr != nil {
			return nil, errors.Join(err, perr)
		}
		return nil, err
	}
	res.Duration = time.Since(start)
	return res, rep.final(ctx, map[string]any{"phase": storagev1alpha1.ComponentSucceeded, "error": nil,
		"duration": res.Duration.Round(time.Millisecond).String(), "claims": claims})
}

func (r *Runner) restore(ctx context.Context, q RestoreRequest, rep *reporter) (*RestoreResult, error) {
	if q.Namespace == "" || q.RestoreSession == "" || q.Snapshot == "" || q.Component == "" {
		return nil, errors.New("namespace, restore-session, snapshot and component are required")
	}
	rs, err := r.Cairn.CoreV1alpha1().RestoreSessions(q.Namespace).Get(ctx, q.RestoreSession, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading RestoreSession %s/%s: %w", q.Namespace, q.RestoreSession, err)
	}
	if err := rep.patch(ctx, map[string]any{"phase": storagev1alpha1.ComponentRunning, "error": nil}); err != nil {
		return nil, err
	}
	snap, err := r.Cairn.StorageV1alpha1().Snapshots(q.Namespace).Get(ctx, q.Snapshot, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("Snapshot %s/%s does not exist", q.Namespace, q.Snapshot)
	}
	if err != nil {
		return nil, fmt.Errorf("reading Snapshot %s/%s: %w", q.Namespace, q.Snapshot, err)
	}
	comp, ok := snap.Status.Components[q.Component]
	if !ok || comp.Phase != storagev1alpha1.ComponentSucceeded || len(comp.VolumeSnapshotterStats) == 0 {
		return nil, fmt.Errorf("component %s of Snapshot %s holds no VolumeSnapshots to restore (phase %q)", q.Component, q.Snapshot, comp.Phase)
	}
	claims, err := Claims(q.Namespace, Templates(rs), q.Component, comp)
	if err != nil {
		return nil, err
	}
	for _, c := range claims {
		name := c.Spec.DataSourceRef.Name
		vs, err := r.Snapshots.SnapshotV1().VolumeSnapshots(q.Namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("VolumeSnapshot %s of Snapshot %s no longer exists (deleted by hand or with its storage system): restore from the repository if the backup exported it", name, q.Snapshot)
		}
		if err != nil {
			return nil, fmt.Errorf("reading VolumeSnapshot %s: %w", name, err)
		}
		if vs.Status == nil || vs.Status.ReadyToUse == nil || !*vs.Status.ReadyToUse {
			return nil, fmt.Errorf("VolumeSnapshot %s is not ready to use", name)
		}
	}
	res := &RestoreResult{}
	pvcs := r.Kube.CoreV1().PersistentVolumeClaims(q.Namespace)
	by := q.Namespace + "/" + q.RestoreSession
	for _, c := range claims {
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		c.Labels[labels.ManagedBy], c.Labels[LabelRestoreSession] = labels.ManagedByValue, q.RestoreSession
		created, err := volumeclaims.Create(ctx, pvcs, c, by, FieldManager)
		if err != nil {
			return res, err
		}
		phase := string(created.Status.Phase)
		if phase == "" {
			phase = string(corev1.ClaimPending)
		}
		res.Claims = append(res.Claims, corev1alpha1.RestoredClaim{Name: c.Name, VolumeSnapshot: c.Spec.DataSourceRef.Name, Phase: phase})
	}
	timeout := q.BindTimeout
	if timeout <= 0 {
		timeout = DefaultBindTimeout
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, name := range q.WaitBound {
		if _, err := volumeclaims.WaitBound(wctx, pvcs, name, r.interval()); err != nil {
			return res, err
		}
		for i := range res.Claims {
			if res.Claims[i].Name == name {
				res.Claims[i].Phase = string(corev1.ClaimBound)
			}
		}
	}
	klog.FromContext(ctx).Info("Claims restored from VolumeSnapshots", "component", q.Component, "claims", res.Claims)
	return res, nil
}
