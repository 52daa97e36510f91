package runner

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/progress"
	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/restorer"
)

// RestoreRequest is one restore Job's work: the flags the operator gives
// `cairn restore`.
type RestoreRequest struct {
	// Namespace of the RestoreSession and the Snapshots it names.
	Namespace string
	// RestoreSession is the session being run (--restore-session).
	RestoreSession string
	// Component is the Snapshot component restored, and the key of
	// RestoreSession.status.components this run owns.
	Component string
	// Snapshot is the Snapshot object the operator chose when the session
	// started (`latest` resolved once, so a backup finishing meanwhile
	// changes nothing). Empty: resolve spec.dataSource.snapshot here.
	Snapshot string
	// TargetPath is the directory the snapshot's absolute paths are
	// restored under: "/" (the default) puts /data back at /data, where
	// the target's volumes are mounted read-write.
	TargetPath string
	// DeleteExtra removes, below the snapshot's backed-up paths, what the
	// snapshot does not hold (the task param deleteExtra: "true"), so a
	// running application's volume ends up exactly as backed up; by
	// default the snapshot's files are overwritten and others are kept.
	DeleteExtra bool
}

// Validate reports a request the runner cannot start.
func (q *RestoreRequest) Validate() error {
	if q.Namespace == "" || q.RestoreSession == "" || q.Component == "" {
		return errors.New("namespace, restore session and component are all required")
	}
	return nil
}

// RestoreResult is what a restore wrote.
type RestoreResult struct {
	// Snapshot is the Snapshot object restored ("latest" resolved).
	Snapshot string
	// SnapshotID is the engine snapshot restored.
	SnapshotID string
	// Stats are the restorer's counts.
	Stats restorer.Stats
	// Duration is the whole run's, API reads included.
	Duration time.Duration
}

// Restore restores component q.Component of the RestoreSession's snapshot
// and records the outcome in the session's component status. A snapshot
// that does not exist, a missing component or a wrong password is a Failed
// component whose error says which.
func (r *Runner) Restore(ctx context.Context, q RestoreRequest) (*RestoreResult, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if q.TargetPath == "" {
		q.TargetPath = "/"
	}
	start := time.Now()
	rs, err := withRetry(ctx, func() (*corev1alpha1.RestoreSession, error) {
		return r.Cairn.CoreV1alpha1().RestoreSessions(q.Namespace).Get(ctx, q.RestoreSession, metav1.GetOptions{})
	})
	if err != nil {
		return nil, apiFailure(err, fmt.Sprintf("RestoreSession %s/%s", q.Namespace, q.RestoreSession))
	}
	status := r.restoreStatus(q.Namespace, q.RestoreSession, q.Component)
	if err := status.patch(ctx, fields{"phase": storagev1.ComponentRunning, "error": nil, "progress": nil}); err != nil {
		return nil, err
	}
	res, err := r.restore(ctx, q, rs, status)
	const left = "the volumes hold a partial restore: run the restore again (files already restored are kept)"
	return res, status.finish(ctx, err, left, func() fields {
		res.Duration = time.Since(start)
		return fields{"duration": res.Duration.Round(time.Millisecond).String()}
	})
}

func (r *Runner) restore(ctx context.Context, q RestoreRequest, rs *corev1alpha1.RestoreSession, status *componentStatus) (*RestoreResult, error) {
	ds := rs.Spec.DataSource
	if len(ds.Components) > 0 && !slices.Contains(ds.Components, q.Component) {
		return nil, &Error{Message: fmt.Sprintf("component %s is not one of the RestoreSession's spec.dataSource.components %v", q.Component, ds.Components)}
	}
	if q.Snapshot != "" {
		ds.Snapshot = q.Snapshot
	}
	snap, err := r.findSnapshot(ctx, q.Namespace, ds)
	if err != nil {
		return nil, err
	}
	comp, ok := snap.Status.Components[q.Component]
	if !ok {
		return nil, &Error{Message: fmt.Sprintf("missing component: Snapshot %s has no component %s (it has %s): name one of those in spec.dataSource.components", snap.Name, q.Component, componentNames(snap))}
	}
	if comp.Phase != storagev1.ComponentSucceeded || comp.DataMoverSnapshotID == "" {
		return nil, &Error{Message: fmt.Sprintf("component %s of Snapshot %s is %s, not a finished data-mover backup: restore another snapshot", q.Component, snap.Name, phaseOrNone(comp.Phase))}
	}
	id, err := repo.ParseID(comp.DataMoverSnapshotID)
	if err != nil {
		return nil, &Error{Message: fmt.Sprintf("component %s of Snapshot %s has an invalid dataMoverSnapshotID %q", q.Component, snap.Name, comp.DataMoverSnapshotID), Err: err}
	}
	rp, err := r.Cairn.StorageV1alpha1().Repositories(q.Namespace).Get(ctx, snap.Spec.Repository, metav1.GetOptions{})
	if err != nil {
		return nil, apiFailure(err, fmt.Sprintf("Repository %s/%s", q.Namespace, snap.Spec.Repository))
	}
	loc, err := r.resolve(ctx, rp, ds.EncryptionSecret.WithNamespace(rs.Namespace))
	if err != nil {
		return nil, err
	}
	engine, err := r.open(ctx, loc, false)
	if err != nil {
		return nil, err
	}
	defer engine.Close()
	sn, err := engine.LoadSnapshot(ctx, id)
	if err != nil {
		if ctx.Err() == nil && (errors.Is(err, repo.ErrNoSnapshot) || errors.Is(err, backend.ErrNotFound)) {
			return nil, &Error{Message: fmt.Sprintf("snapshot missing: the repository at %s has no engine snapshot %s (component %s of Snapshot %s): it was removed by retention or by hand; restore another snapshot", loc.safeURL(), id.Short(), q.Component, snap.Name), Err: err}
		}
		return nil, engineFailure(ctx, err, loc)
	}
	logger := klog.FromContext(ctx)
	logger.Info("Restoring", "snapshot", snap.Name, "engineSnapshot", id.String(), "paths", sn.Paths, "target", q.TargetPath)
	tracker := progress.New(ctx, status.progress(ctx), r.progressInterval())
	tracker.AddTotal(int64(sn.Stats.Files+sn.Stats.Dirs), int64(sn.Stats.Bytes))
	if len(ds.IncludePaths) == 0 {
		tracker.TotalsDone()
	}
	var deleteExtra []string
	if q.DeleteExtra {
		if slices.Contains(sn.Paths, "/") && q.TargetPath == "/" {
			return nil, &Error{Message: fmt.Sprintf("deleteExtra: component %s of Snapshot %s backed up / itself; removing what it does not hold from the pod's root is refused: restore without deleteExtra", q.Component, snap.Name)}
		}
		deleteExtra = sn.Paths
	}
	warn := &warnings{}
	volumeRoots := mountPoints(q.TargetPath, sn.Paths)
	moving, stop := watchStall(ctx, func() int64 { s := tracker.Status(); return s.BytesDone + s.FilesDone }, r.stallTimeout())
	st, err := restorer.Run(moving, engine, sn.Tree, restorer.Options{
		Target: q.TargetPath,
		// The pod's root is read-only; the target's volumes below it are
		// what is written.
		InPlace:     q.TargetPath == "/",
		Include:     ds.IncludePaths,
		Exclude:     ds.ExcludePaths,
		DeleteExtra: deleteExtra,
		Progress:    tracker,
		Warn: func(path string, err error) {
			if volumeRoots[filepath.Clean(path)] {
				logger.V(2).Info("Metadata of a mount point or its parents not restored", "path", path, "err", err)
				return
			}
			logger.Info("Restore warning", "path", path, "err", err)
			warn.add(path, err)
		},
	})
	tracker.Finish()
	stalled := stop()
	var noMatch *restorer.NoMatchError
	switch {
	case stalled && err != nil && ctx.Err() == nil:
		return nil, &Error{Message: fmt.Sprintf("the store at %s stopped answering: %v, so the restore was stopped (a store that was stopped or cut off holds downloads forever); check that it runs and is reachable from the cluster, then run the restore again (files already restored are kept)", loc.safeURL(), context.Cause(moving)), Err: context.Cause(moving)}
	case errors.As(err, &noMatch) && ctx.Err() == nil:
		return nil, &Error{Message: fmt.Sprintf("spec.dataSource.includePaths %v match nothing in component %s of Snapshot %s (its paths are %v): fix the patterns", noMatch.Patterns, q.Component, snap.Name, sn.Paths), Err: err}
	case errors.Is(err, restorer.ErrMissingChunk) && ctx.Err() == nil:
		return nil, &Error{Message: fmt.Sprintf("the repository at %s is missing data of this snapshot (%v): run `cairn repo check --repo %s`", loc.safeURL(), err, loc.safeURL()), Err: err}
	case err != nil:
		return nil, engineFailure(ctx, err, loc)
	}
	res := &RestoreResult{Snapshot: snap.Name, SnapshotID: sn.ID.String(), Stats: st}
	logger.Info("Restored", "files", st.Files, "dirs", st.Dirs, "bytesWritten", st.BytesWritten, "filesSkipped", st.FilesSkipped, "deleted", st.Deleted)
	if n := warn.count(); n > 0 {
		return res, fmt.Errorf("restored, but with %d warnings (%s): %w", n, warn.String(), ErrPartial)
	}
	return res, nil
}

// mountPoints are the backed-up paths under target and every directory
// above them. The snapshot holds their metadata too, but in a restore pod
// they are the volumes' mount points and the image's read-only root file
// system: Kubernetes owns them (fsGroup, mount options), so failing to
// set their owner, mode or times is not a failed restore.
func mountPoints(target string, paths []string) map[string]bool {
	m := map[string]bool{}
	for _, p := range paths {
		for d := filepath.Join(target, p); !m[d]; d = filepath.Dir(d) {
			m[d] = true
		}
	}
	return m
}

// findSnapshot is the Snapshot ds names, or for "latest" the newest
// Succeeded Snapshot of its repository (by snapshot time, then creation).
func (r *Runner) findSnapshot(ctx context.Context, ns string, ds corev1alpha1.RestoreDataSource) (*storagev1.Snapshot, error) {
	snaps := r.Cairn.StorageV1alpha1().Snapshots(ns)
	if ds.Snapshot != corev1alpha1.LatestSnapshot {
		snap, err := snaps.Get(ctx, ds.Snapshot, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, &Error{Message: fmt.Sprintf("snapshot missing: Snapshot %s/%s (spec.dataSource.snapshot) does not exist: name an existing Snapshot of Repository %s, or latest", ns, ds.Snapshot, ds.Repository), Err: err}
		}
		if err != nil {
			return nil, apiFailure(err, fmt.Sprintf("Snapshot %s/%s (spec.dataSource.snapshot)", ns, ds.Snapshot))
		}
		if snap.Spec.Repository != ds.Repository {
			return nil, &Error{Message: fmt.Sprintf("Snapshot %s is in Repository %s, not %s: fix spec.dataSource", snap.Name, snap.Spec.Repository, ds.Repository)}
		}
		return snap, nil
	}
	list, err := snaps.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, apiFailure(err, "the Snapshots of namespace "+ns)
	}
	var newest *storagev1.Snapshot
	for i := range list.Items {
		s := &list.Items[i]
		if s.Spec.Repository == ds.Repository && s.Status.Phase == storagev1.SnapshotSucceeded && (newest == nil || newer(s, newest)) {
			newest = s
		}
	}
	if newest == nil {
		return nil, &Error{Message: fmt.Sprintf("snapshot missing: Repository %s has no Succeeded Snapshot to restore as latest", ds.Repository)}
	}
	return newest, nil
}

// newer orders Snapshots by snapshot time, then creation time, then name
// (names end in the session's Unix time).
func newer(a, b *storagev1.Snapshot) bool {
	ta, tb := snapshotTime(a), snapshotTime(b)
	if !ta.Equal(tb) {
		return ta.After(tb)
	}
	return a.Name > b.Name
}

func snapshotTime(s *storagev1.Snapshot) time.Time {
	if s.Status.SnapshotTime != nil {
		return s.Status.SnapshotTime.Time
	}
	return s.CreationTimestamp.Time
}

func componentNames(s *storagev1.Snapshot) string {
	names := make([]string, 0, len(s.Status.Components))
	for n := range s.Status.Components {
		names = append(names, n)
	}
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func phaseOrNone(p storagev1.ComponentPhase) string {
	if p == "" {
		return "not started"
	}
	return string(p)
}
