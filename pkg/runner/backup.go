package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/archiver"
	"github.com/cairnbackup/cairn/pkg/fsfilter"
	"github.com/cairnbackup/cairn/pkg/progress"
	"github.com/cairnbackup/cairn/pkg/repo"
)

// BackupRequest is one backup Job's work: the flags the operator gives
// `cairn backup`.
type BackupRequest struct {
	// Namespace of the session, its Snapshot and Repository.
	Namespace string
	// BackupSession is the session being run (--backup-session).
	BackupSession string
	// Snapshot is the Snapshot object whose component this run writes.
	Snapshot string
	// Component is the key of Snapshot.status.components this run owns.
	Component string
	// Paths are absolute paths in the pod, where the target's volumes are
	// mounted as the application sees them.
	Paths []string
	// Exclude holds pkg/fsfilter patterns of paths to leave out.
	Exclude []string
}

// Validate reports a request the runner cannot start: a usage error of
// the command, never a component status.
func (q *BackupRequest) Validate() error {
	switch {
	case q.Namespace == "" || q.BackupSession == "" || q.Snapshot == "" || q.Component == "":
		return errors.New("namespace, backup session, snapshot and component are all required")
	case len(q.Paths) == 0:
		return errors.New("no paths to back up: the operator passes the target volumes' mount paths")
	}
	for _, p := range q.Paths {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("path %q is not absolute: paths are where the application mounts its volumes, e.g. /data", p)
		}
	}
	return nil
}

// BackupResult is what a successful backup saved.
type BackupResult struct {
	// SnapshotID is the engine snapshot saved (the component's
	// dataMoverSnapshotID).
	SnapshotID string
	// Parent is the engine snapshot it was compared with, "" for none.
	Parent string
	// Stats are the engine's counts of the run.
	Stats archiver.Stats
	// Owners are the users and groups owning the files backed up (the
	// component's status.owners); nil when they could not all be read.
	Owners *storagev1.FileOwners
	// Duration is the whole run's, API reads included.
	Duration time.Duration
}

// maxWarnings bounds the skipped files named in a component's error.
const maxWarnings = 5

// Backup backs up q.Paths into the engine repository of the Snapshot's
// Repository and records the outcome in the Snapshot's component
// q.Component. Every failure after the Snapshot was read is recorded there
// too (an *Error says what to fix); the error returned is the same.
func (r *Runner) Backup(ctx context.Context, q BackupRequest) (*BackupResult, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	snap, err := firstRead(ctx, func() (*storagev1.Snapshot, error) {
		return r.Cairn.StorageV1alpha1().Snapshots(q.Namespace).Get(ctx, q.Snapshot, metav1.GetOptions{})
	})
	if err != nil {
		return nil, apiFailure(err, fmt.Sprintf("Snapshot %s/%s", q.Namespace, q.Snapshot))
	}
	status := r.snapshotStatus(snap, q.Component)
	if err := status.patch(ctx, fields{"phase": storagev1.ComponentRunning, "path": strings.Join(q.Paths, ","),
		"driver": DriverCairn, "error": nil, "progress": nil}); err != nil {
		return nil, err
	}
	res, err := r.backup(ctx, q, snap, status)
	const left = "no engine snapshot of this run was saved, and the next backup starts over (data already uploaded is reused or pruned)"
	return res, status.finish(ctx, err, left, func() fields {
		res.Duration = time.Since(start)
		st := res.Stats
		return fields{
			"size":                progress.FormatBytes(st.BytesRead + st.BytesUnchanged),
			"duration":            res.Duration.Round(time.Millisecond).String(),
			"dataMoverSnapshotID": res.SnapshotID,
			"driver":              DriverCairn,
			"owners":              res.Owners,
			"stats": storagev1.FileStats{
				TotalFiles:      st.FilesRead + st.FilesUnchanged,
				NewFiles:        st.FilesRead - st.FilesChanged,
				ModifiedFiles:   st.FilesChanged,
				UnmodifiedFiles: st.FilesUnchanged,
				TotalBytes:      st.BytesRead + st.BytesUnchanged,
				UploadedBytes:   st.BytesStored,
			},
		}
	})
}

func (r *Runner) backup(ctx context.Context, q BackupRequest, snap *storagev1.Snapshot, status *componentStatus) (*BackupResult, error) {
	if snap.Spec.BackupSession != "" && snap.Spec.BackupSession != q.BackupSession {
		return nil, &Error{Message: fmt.Sprintf("Snapshot %s belongs to BackupSession %s, not %s: the Job was given the wrong snapshot", snap.Name, snap.Spec.BackupSession, q.BackupSession)}
	}
	for _, p := range q.Paths {
		if _, err := os.Lstat(p); err != nil {
			return nil, &Error{Message: fmt.Sprintf("path not found: %s is not in the backup pod (%v): the task's paths must be mount paths of the target's volumes, as the application's containers mount them", p, err), Err: err}
		}
	}
	filter, err := fsfilter.New(nil, q.Exclude)
	if err != nil {
		return nil, &Error{Message: fmt.Sprintf("the task's exclude patterns are invalid: %v", err), Err: err}
	}
	bs, err := r.Cairn.CoreV1alpha1().BackupSessions(q.Namespace).Get(ctx, q.BackupSession, metav1.GetOptions{})
	if err != nil {
		return nil, apiFailure(err, fmt.Sprintf("BackupSession %s/%s", q.Namespace, q.BackupSession))
	}
	rp, err := r.Cairn.StorageV1alpha1().Repositories(q.Namespace).Get(ctx, snap.Spec.Repository, metav1.GetOptions{})
	if err != nil {
		return nil, apiFailure(err, fmt.Sprintf("Repository %s/%s (spec.repository of Snapshot %s)", q.Namespace, snap.Spec.Repository, snap.Name))
	}
	loc, err := r.resolve(ctx, rp, rp.Spec.EncryptionSecret)
	if err != nil {
		return nil, err
	}
	engine, err := r.open(ctx, loc, true)
	if err != nil {
		return nil, err
	}
	defer engine.Close()

	app := snap.Spec.AppRef.WithNamespace(snap.Namespace)
	host := strings.Join([]string{app.Namespace, app.Kind, app.Name, q.Component}, "/")
	all, _, err := engine.ListSnapshots(ctx)
	if err != nil {
		return nil, storeFailure(ctx, err, "listing the snapshots of "+loc.safeURL())
	}
	parent := archiver.FindParent(all, host, q.Paths)
	logger := klog.FromContext(ctx)
	if parent != nil {
		logger.Info("Incremental backup", "parent", parent.ID.String(), "host", host)
	}
	warn := &warnings{}
	tracker := progress.New(ctx, status.progress(ctx), r.progressInterval())
	moving, stop := watchStall(ctx, func() int64 { s := tracker.Status(); return s.BytesDone + s.FilesDone }, r.stallTimeout())
	scanCtx, endScan := context.WithCancel(ctx)
	defer endScan()
	owners := startOwnerScan(scanCtx, q.Paths, filter)
	sn, st, err := archiver.Backup(moving, engine, archiver.Options{
		Paths:    q.Paths,
		Filter:   filter,
		Progress: tracker,
		Warn: func(path string, err error) {
			logger.Info("File skipped", "path", path, "err", err)
			warn.add(path, err)
		},
	}, archiver.SnapshotOptions{Hostname: host, Tags: backupTags(q, bs.Spec.Invoker.Name, bs.Spec.Session), Parent: parent})
	tracker.Finish()
	if stalled := stop(); stalled && err != nil && ctx.Err() == nil {
		return nil, &Error{Message: fmt.Sprintf("the store at %s stopped answering: %v, so the backup was stopped (a store that was stopped or cut off holds uploads forever); check that it runs and is reachable from the cluster", loc.safeURL(), context.Cause(moving)), Err: context.Cause(moving)}
	}
	if err != nil {
		return nil, engineFailure(ctx, err, loc)
	}
	res := &BackupResult{SnapshotID: sn.ID.String(), Stats: st, Owners: owners.wait()}
	if parent != nil {
		res.Parent = parent.ID.String()
	}
	logger.Info("Backup saved", "snapshot", res.SnapshotID, "filesRead", st.FilesRead, "filesUnchanged", st.FilesUnchanged, "bytesStored", st.BytesStored)
	if st.Warnings > 0 {
		return res, fmt.Errorf("snapshot %s saved, but %d files could not be read (%s): %w", sn.ID.Short(), st.Warnings, warn.String(), ErrPartial)
	}
	return res, nil
}

// backupTags tag the engine snapshot so `cairn repo snapshots --tag`
// finds a component's history without the cluster.
func backupTags(q BackupRequest, config, session string) []string {
	tags := []string{"component=" + q.Component, "backup-session=" + q.BackupSession}
	if config != "" {
		tags = append(tags, "backup-configuration="+config)
	}
	if session != "" {
		tags = append(tags, "session="+session)
	}
	return tags
}

// engineFailure explains an error of the backup or restore pipeline.
func engineFailure(ctx context.Context, err error, loc *location) error {
	safe := loc.safeURL()
	switch {
	case ctx.Err() != nil:
		return err
	case errors.Is(err, repo.ErrConcurrentPrune):
		return &Error{Message: "a prune removed data this backup relied on while it ran; nothing was saved: run the backup again", Err: err}
	case errors.Is(err, repo.ErrCorrupt):
		return &Error{Message: fmt.Sprintf("the repository at %s holds damaged data (%v): run `cairn repo check --read-data --repo %s`", safe, err, safe), Err: err}
	}
	return storeFailure(ctx, err, "writing to "+safe)
}

// describe is the component error for err: an interruption says so, why,
// and then what it left; an *Error is already worded for a person.
func describe(ctx context.Context, err error, left string) string {
	if ctx.Err() != nil {
		return fmt.Sprintf("interrupted (%v): the runner was stopped before it finished, because its Job was deleted, reached its activeDeadlineSeconds or its pod was evicted; %s", context.Cause(ctx), left)
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// warnings counts the files a run skipped and keeps the first, for the
// status.
type warnings struct {
	mu    sync.Mutex
	n     int
	first []string
}

func (w *warnings) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

func (w *warnings) add(path string, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n++
	if len(w.first) < maxWarnings {
		w.first = append(w.first, fmt.Sprintf("%s: %v", path, err))
	}
}

func (w *warnings) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.first, "; ")
}
