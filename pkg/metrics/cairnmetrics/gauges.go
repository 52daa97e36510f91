package cairnmetrics

import (
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/labels"

	corelisters "github.com/cairnbackup/cairn/client/listers/core/v1alpha1"
	storagelisters "github.com/cairnbackup/cairn/client/listers/storage/v1alpha1"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

var (
	sessionLabels = []string{labelNamespace, labelConfig, labelSession}
	repoLabels    = []string{labelNamespace, labelRepository}

	gaugeDescs = map[string]*prometheus.Desc{
		BackupSessions: prometheus.NewDesc(BackupSessions,
			"BackupSession objects of a configuration session, by phase (finished ones are kept up to the session's history limit).",
			append(slices.Clone(sessionLabels), labelPhase), nil),
		BackupLastSuccess: prometheus.NewDesc(BackupLastSuccess,
			"When the newest successful backup of the configuration session was taken (its Snapshot time), in Unix seconds; absent until one succeeded.",
			sessionLabels, nil),
		BackupLastFailed: prometheus.NewDesc(BackupLastFailed,
			"1 while the newest finished backup of the configuration session failed, else 0.", sessionLabels, nil),
		BackupLastDuration: prometheus.NewDesc(BackupLastDuration,
			"How long the newest finished backup of the configuration session took.", sessionLabels, nil),
		BackupLastProcessedBytes: prometheus.NewDesc(BackupLastProcessedBytes,
			"Logical bytes the newest successful backup of the configuration session read, over all its repositories.", sessionLabels, nil),
		BackupLastUploadedBytes: prometheus.NewDesc(BackupLastUploadedBytes,
			"Bytes the newest successful backup of the configuration session added to its repositories (after deduplication and compression).", sessionLabels, nil),
		BackupScheduleInterval: prometheus.NewDesc(BackupScheduleInterval,
			"The longest gap between two consecutive runs of the session's schedule (over at least the next 8 days).", sessionLabels, nil),
		BackupNextRun: prometheus.NewDesc(BackupNextRun,
			"When the session's schedule fires next, in Unix seconds.", sessionLabels, nil),
		BackupPaused: prometheus.NewDesc(BackupPaused,
			"1 when the configuration is paused or the session's schedule suspended, else 0.", sessionLabels, nil),
		ConfigurationCreated: prometheus.NewDesc(ConfigurationCreated,
			"When the BackupConfiguration was created, in Unix seconds.", []string{labelNamespace, labelConfig}, nil),
		RepositorySize: prometheus.NewDesc(RepositorySize,
			"Stored bytes of the repository: what its Succeeded Snapshots uploaded (as status.size, exact).", repoLabels, nil),
		RepositorySnapshots: prometheus.NewDesc(RepositorySnapshots,
			"Succeeded snapshots in the repository (as status.snapshotCount).", repoLabels, nil),
		RepositoryIntegrity: prometheus.NewDesc(RepositoryIntegrity,
			"1 when the repository's last check found it sound, 0 when it found damage; absent before any check.", repoLabels, nil),
		RestoreSessions: prometheus.NewDesc(RestoreSessions,
			"RestoreSession objects by the repository they restore from and phase.", append(slices.Clone(repoLabels), labelPhase), nil),
	}

	backupPhases = []corev1alpha1.BackupSessionPhase{corev1alpha1.BackupSessionPending, corev1alpha1.BackupSessionRunning,
		corev1alpha1.BackupSessionSucceeded, corev1alpha1.BackupSessionFailed, corev1alpha1.BackupSessionSkipped}
	restorePhases = []corev1alpha1.RestorePhase{corev1alpha1.RestorePending, corev1alpha1.RestoreRunning,
		corev1alpha1.RestoreSucceeded, corev1alpha1.RestoreFailed, corev1alpha1.RestoreInvalid}
)

// views are the listers the gauges read.
type views struct {
	configs  corelisters.BackupConfigurationLister
	sessions corelisters.BackupSessionLister
	restores corelisters.RestoreSessionLister
	repos    storagelisters.RepositoryLister
	snaps    storagelisters.SnapshotLister
}

// objects is one consistent-enough read of the caches for one scrape.
type objects struct {
	configs  []*corev1alpha1.BackupConfiguration
	sessions []*corev1alpha1.BackupSession
	restores []*corev1alpha1.RestoreSession
	repos    []*storagev1alpha1.Repository
	snaps    []*storagev1alpha1.Snapshot
}

func (v views) read() (*objects, error) {
	all := labels.Everything()
	o := &objects{}
	var err error
	if o.configs, err = v.configs.List(all); err != nil {
		return nil, err
	}
	if o.sessions, err = v.sessions.List(all); err != nil {
		return nil, err
	}
	if o.restores, err = v.restores.List(all); err != nil {
		return nil, err
	}
	if o.repos, err = v.repos.List(all); err != nil {
		return nil, err
	}
	if o.snaps, err = v.snaps.List(all); err != nil {
		return nil, err
	}
	return o, nil
}

// emit sends every gauge computed from o.
func (o *objects) emit(ch chan<- prometheus.Metric, now time.Time, iv *intervalCache) {
	gauge := func(name string, v float64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(gaugeDescs[name], prometheus.GaugeValue, v, lv...)
	}
	bytes := snapshotBytes(o.snaps)
	for key, s := range o.backupSummaries(bytes) {
		lv := []string{key.namespace, key.config, key.session}
		for _, p := range backupPhases {
			gauge(BackupSessions, float64(s.phases[p]), append(lv, string(p))...)
		}
		if s.sched != nil {
			if d, ok := iv.interval(s.sched.Scheduler.Schedule, s.sched.Scheduler.TimeZone, now); ok {
				gauge(BackupScheduleInterval, d.Seconds(), lv...)
			}
			gauge(BackupPaused, boolValue(s.paused), lv...)
		}
		if s.nextRun != nil {
			gauge(BackupNextRun, unix(s.nextRun.Time), lv...)
		}
		if s.lastFinished != nil {
			gauge(BackupLastFailed, boolValue(s.lastFinished.Status.Phase == corev1alpha1.BackupSessionFailed), lv...)
			gauge(BackupLastDuration, sessionDuration(s.lastFinished.Status.Duration, s.lastFinished.CreationTimestamp.Time, now).Seconds(), lv...)
		}
		if s.lastSuccess.set {
			gauge(BackupLastSuccess, unix(s.lastSuccess.at), lv...)
			if b, ok := bytes[s.lastSuccess.backupSession]; ok {
				gauge(BackupLastProcessedBytes, float64(b.processed), lv...)
				gauge(BackupLastUploadedBytes, float64(b.uploaded), lv...)
			}
		}
	}
	for _, c := range o.configs {
		gauge(ConfigurationCreated, unix(c.CreationTimestamp.Time), c.Namespace, c.Name)
	}
	for key, r := range o.repositorySummaries() {
		lv := []string{key.namespace, key.repository}
		gauge(RepositorySize, float64(r.size), lv...)
		gauge(RepositorySnapshots, float64(r.snapshots), lv...)
		if r.integrity != nil {
			gauge(RepositoryIntegrity, boolValue(*r.integrity), lv...)
		}
	}
	for key, phases := range o.restoreSummaries() {
		for _, p := range restorePhases {
			gauge(RestoreSessions, float64(phases[p]), key.namespace, key.repository, string(p))
		}
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// unix is t in Unix seconds with sub-second precision.
func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
