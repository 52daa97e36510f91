// Package cairnmetrics exports what Cairn's users watch: backup and restore
// sessions by phase, the last successful backup of every configuration
// session and its schedule interval (so an alert can say "no backup for two
// intervals"), durations, bytes, repository size, snapshot count and
// integrity, and retention results.
//
// There are two kinds of metric, and the difference matters for alerts:
//
//   - Gauges are computed at scrape time from the informer caches the
//     controllers already keep (no extra watch, no API call, no write). They
//     describe the objects as they are now, so an operator restart, a
//     resync or a second replica changes nothing: alerts are built on them.
//   - Counters and the duration histograms count the transitions of
//     sessions into a final phase that this operator process observed: once
//     per session (a set of seen UIDs absorbs resyncs and relists), and never
//     for sessions that were already final when the process started. They
//     restart from zero with the process, as Prometheus counters do.
//
// Labels are bounded by the objects users create: namespace, configuration,
// session and repository names, and phases. No metric has a label per
// BackupSession, Snapshot or RestoreSession.
package cairnmetrics

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/tools/cache"

	cairninformers "github.com/cairnbackup/cairn/client/informers/externalversions"
	"github.com/cairnbackup/cairn/pkg/metrics"
)

// Metric names. Dashboards and alerts in deploy/monitoring use these, and a
// test there checks that every name they use is one of them.
const (
	// BackupSessions counts the BackupSession objects of each configuration
	// session by phase (what `kubectl get bks` shows, history limits applied).
	BackupSessions = "cairn_backup_sessions"
	// BackupLastSuccess is when the newest successful backup of a
	// configuration session was taken (its Snapshot's time, as
	// status.sessions[].lastSuccessfulBackupTime), in Unix seconds; absent
	// until one succeeded.
	BackupLastSuccess = "cairn_backup_last_success_timestamp_seconds"
	// BackupLastFailed is 1 while the newest finished backup of a session
	// failed, 0 once a later one succeeded.
	BackupLastFailed = "cairn_backup_last_failed"
	// BackupLastDuration is how long the newest finished backup took.
	BackupLastDuration = "cairn_backup_last_duration_seconds"
	// BackupLastProcessedBytes is the logical size of what the newest
	// successful backup read (every component, every repository).
	BackupLastProcessedBytes = "cairn_backup_last_processed_bytes"
	// BackupLastUploadedBytes is what the newest successful backup added to
	// its repositories after deduplication and compression.
	BackupLastUploadedBytes = "cairn_backup_last_uploaded_bytes"
	// BackupScheduleInterval is the longest gap between two runs of the
	// session's schedule: PromQL cannot read a cron expression.
	BackupScheduleInterval = "cairn_backup_schedule_interval_seconds"
	// BackupNextRun is when the session's schedule fires next.
	BackupNextRun = "cairn_backup_next_run_timestamp_seconds"
	// BackupPaused is 1 when the configuration is paused or the session's
	// schedule suspended: no backup is expected.
	BackupPaused = "cairn_backup_paused"
	// ConfigurationCreated is when the BackupConfiguration was created: the
	// start of the clock for a session that never succeeded.
	ConfigurationCreated = "cairn_backup_configuration_created_timestamp_seconds"
	// RepositorySize is the repository's stored bytes.
	RepositorySize = "cairn_repository_size_bytes"
	// RepositorySnapshots is the number of snapshots in the repository.
	RepositorySnapshots = "cairn_repository_snapshots"
	// RepositoryIntegrity is 1 when the last check found the repository
	// sound and 0 when it found damage; absent before any check.
	RepositoryIntegrity = "cairn_repository_integrity"
	// RestoreSessions counts RestoreSession objects by repository and phase.
	RestoreSessions = "cairn_restore_sessions"

	// BackupSessionsCompleted counts backup sessions that reached a final
	// phase while this operator process watched.
	BackupSessionsCompleted = "cairn_backup_sessions_completed_total"
	// BackupSessionDuration is the duration of finished (succeeded or
	// failed) backup sessions.
	BackupSessionDuration = "cairn_backup_session_duration_seconds"
	// BackupProcessedBytes sums the bytes read by finished backups.
	BackupProcessedBytes = "cairn_backup_processed_bytes_total"
	// BackupUploadedBytes sums the bytes finished backups added to their
	// repositories.
	BackupUploadedBytes = "cairn_backup_uploaded_bytes_total"
	// RetentionResults counts retention policy applications by result
	// (Applied, FailedToApply).
	RetentionResults = "cairn_retention_results_total"
	// RestoreSessionsCompleted counts restores that reached a final phase.
	RestoreSessionsCompleted = "cairn_restore_sessions_completed_total"
	// RestoreSessionDuration is the duration of finished restores.
	RestoreSessionDuration = "cairn_restore_session_duration_seconds"
)

// Label names.
const (
	labelNamespace  = "namespace"
	labelConfig     = "config"
	labelSession    = "session"
	labelPhase      = "phase"
	labelRepository = "repository"
	labelResult     = "result"
)

// durationBuckets span a small volume (seconds) to a large one (a day).
var durationBuckets = []float64{5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800, 86400}

// Register adds Cairn's session, repository and restore metrics to reg,
// reading f's informers (which the controllers already requested, so no
// watch is added) and observing session transitions through their
// handlers. It runs before the informers start. A nil reg registers nothing.
func Register(reg *metrics.Registry, f cairninformers.SharedInformerFactory) error {
	if reg == nil {
		return nil
	}
	c := New(f, time.Now)
	if err := reg.Register(c); err != nil {
		return fmt.Errorf("registering Cairn's session metrics: %w", err)
	}
	return c.t.watch(f)
}

// Collector is the prometheus.Collector of this package.
type Collector struct {
	v      views
	synced []cache.InformerSynced
	now    func() time.Time
	iv     *intervalCache
	t      *transitions
}

// New makes a Collector over f's informers; now is the clock (time.Now
// outside tests). Register is what the operator calls.
func New(f cairninformers.SharedInformerFactory, now func() time.Time) *Collector {
	core, st := f.Core().V1alpha1(), f.Storage().V1alpha1()
	c := &Collector{
		v: views{
			configs:  core.BackupConfigurations().Lister(),
			sessions: core.BackupSessions().Lister(),
			restores: core.RestoreSessions().Lister(),
			repos:    st.Repositories().Lister(),
			snaps:    st.Snapshots().Lister(),
		},
		now: now,
		iv:  newIntervalCache(),
	}
	for _, inf := range []cache.SharedIndexInformer{core.BackupConfigurations().Informer(), core.BackupSessions().Informer(),
		core.RestoreSessions().Informer(), st.Repositories().Informer(), st.Snapshots().Informer()} {
		c.synced = append(c.synced, inf.HasSynced)
	}
	c.t = newTransitions(c.v.snaps, now)
	return c
}

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range gaugeDescs {
		ch <- d
	}
	c.t.describe(ch)
}

// Collect sends the gauges computed from the caches, once every cache has
// synced (a partial cache would report backups missing), and the counters.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	if c.cachesSynced() {
		if s, err := c.v.read(); err == nil {
			s.emit(ch, c.now(), c.iv)
		}
	}
	c.t.collect(ch)
}

func (c *Collector) cachesSynced() bool {
	for _, s := range c.synced {
		if !s() {
			return false
		}
	}
	return true
}
