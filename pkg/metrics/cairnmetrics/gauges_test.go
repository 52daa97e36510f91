package cairnmetrics

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

const (
	day  = 24 * time.Hour
	succ = corev1alpha1.BackupSessionSucceeded
)

// gaugeScenario is a config with a scheduled session whose history has
// successes, a failure and a run in progress, a suspended session known
// only from a Snapshot whose BackupSession is gone, a paused config that
// never ran, three repositories (status filled, Snapshots only, empty) and
// two restores.
func gaugeScenario() []runtime.Object {
	web := config("web", now.Add(-10*day), schedSession("nightly", "0 3 * * *"), schedSession("hourly", "0 * * * *"))
	web.Spec.Sessions[1].Scheduler.Suspend = true
	web.Status.Sessions = []corev1alpha1.SessionStatus{{Name: "nightly", NextSchedule: &metav1.Time{Time: now.Add(17 * time.Hour)}}}
	paused := config("paused", now.Add(-2*day), schedSession("daily", "@daily"))
	paused.Spec.Paused = true
	// Known from the status only (its Snapshots are gone).
	paused.Status.Sessions = []corev1alpha1.SessionStatus{{Name: "daily", LastSuccessfulBackupTime: &metav1.Time{Time: now.Add(-5 * time.Hour)}}}
	return []runtime.Object{
		web, paused,
		backupSession("web-nightly-1", "web", "nightly", now.Add(-2*day), succ, "2m0s"),
		backupSession("web-nightly-2", "web", "nightly", now.Add(-day), succ, "5m0s"),
		backupSession("web-nightly-3", "web", "nightly", now.Add(-time.Hour), corev1alpha1.BackupSessionFailed, "30s"),
		backupSession("web-nightly-4", "web", "nightly", now.Add(-time.Minute), corev1alpha1.BackupSessionRunning, ""),
		snapshot("s3-nightly-2", "web-s3", "web", "nightly", "web-nightly-2", storagev1alpha1.SnapshotSucceeded, now.Add(-day), "4m", 600, 200),
		snapshot("gcs-nightly-2", "web-gcs", "web", "nightly", "web-nightly-2", storagev1alpha1.SnapshotSucceeded, now.Add(-day), "3m", 400, 100),
		snapshot("gcs-nightly-3", "web-gcs", "web", "nightly", "web-nightly-3", storagev1alpha1.SnapshotFailed, now.Add(-time.Hour), "", 0, 0),
		func() runtime.Object {
			s := snapshot("gcs-hourly", "web-gcs", "web", "hourly", "web-hourly-gone", storagev1alpha1.SnapshotSucceeded, now.Add(-3*time.Hour), "10s", 50, 20)
			s.Status.Integrity = ptr.To(true)
			return s
		}(),
		repository("web-s3", storagev1alpha1.RepositoryStatus{Size: "1.5 MiB", SnapshotCount: ptr.To[int32](7), Integrity: ptr.To(false)}),
		repository("web-gcs", storagev1alpha1.RepositoryStatus{}),
		repository("status-only", storagev1alpha1.RepositoryStatus{Size: "1.5 MiB", SnapshotCount: ptr.To[int32](7)}),
		repository("empty", storagev1alpha1.RepositoryStatus{}),
		restore("undo", "web-s3", corev1alpha1.RestoreSucceeded, "1m"),
		restore("again", "web-s3", "", ""),
	}
}

func TestGaugesDescribeTheObjects(t *testing.T) {
	all := newFixture(t, gaugeScenario()...).series()
	nightly := []string{"namespace", "ns", "config", "web", "session", "nightly"}
	hourly := []string{"namespace", "ns", "config", "web", "session", "hourly"}
	daily := []string{"namespace", "ns", "config", "paused", "session", "daily"}
	with := func(base []string, more ...string) []string { return append(append([]string{}, base...), more...) }

	phases := map[string]float64{}
	for _, key := range [][]string{nightly, hourly, daily} {
		for _, p := range backupPhases {
			phases[sel(BackupSessions, with(key, "phase", string(p))...)] = 0
		}
	}
	phases[sel(BackupSessions, with(nightly, "phase", "Succeeded")...)] = 2
	phases[sel(BackupSessions, with(nightly, "phase", "Failed")...)] = 1
	phases[sel(BackupSessions, with(nightly, "phase", "Running")...)] = 1
	expectFamily(t, all, BackupSessions, phases)

	expectFamily(t, all, BackupLastSuccess, map[string]float64{
		// web-nightly-2's Snapshots were taken a day ago; the newer run failed.
		sel(BackupLastSuccess, nightly...): unix(now.Add(-day)),
		// Known from a Snapshot whose BackupSession is gone.
		sel(BackupLastSuccess, hourly...): unix(now.Add(-3 * time.Hour)),
		sel(BackupLastSuccess, daily...):  unix(now.Add(-5 * time.Hour)),
	})
	expectFamily(t, all, BackupLastFailed, map[string]float64{sel(BackupLastFailed, nightly...): 1})
	expectFamily(t, all, BackupLastDuration, map[string]float64{sel(BackupLastDuration, nightly...): 30})
	expectFamily(t, all, BackupLastProcessedBytes, map[string]float64{
		sel(BackupLastProcessedBytes, nightly...): 1000, sel(BackupLastProcessedBytes, hourly...): 50})
	expectFamily(t, all, BackupLastUploadedBytes, map[string]float64{
		sel(BackupLastUploadedBytes, nightly...): 300, sel(BackupLastUploadedBytes, hourly...): 20})
	expectFamily(t, all, BackupScheduleInterval, map[string]float64{
		sel(BackupScheduleInterval, nightly...): day.Seconds(), sel(BackupScheduleInterval, hourly...): 3600,
		sel(BackupScheduleInterval, daily...): day.Seconds()})
	expectFamily(t, all, BackupNextRun, map[string]float64{sel(BackupNextRun, nightly...): unix(now.Add(17 * time.Hour))})
	expectFamily(t, all, BackupPaused, map[string]float64{
		sel(BackupPaused, nightly...): 0, sel(BackupPaused, hourly...): 1, sel(BackupPaused, daily...): 1})
	expectFamily(t, all, ConfigurationCreated, map[string]float64{
		sel(ConfigurationCreated, "namespace", "ns", "config", "web"):    unix(now.Add(-10 * day)),
		sel(ConfigurationCreated, "namespace", "ns", "config", "paused"): unix(now.Add(-2 * day))})

	repo := func(name string) []string { return []string{"namespace", "ns", "repository", name} }
	expectFamily(t, all, RepositorySize, map[string]float64{
		sel(RepositorySize, repo("web-s3")...):      200,               // its Snapshot, exact where status.size rounds
		sel(RepositorySize, repo("web-gcs")...):     120,               // 100 + 20 uploaded by its Succeeded Snapshots
		sel(RepositorySize, repo("status-only")...): 1.5 * 1024 * 1024, // no Snapshot objects: status.size
		sel(RepositorySize, repo("empty")...):       0})
	expectFamily(t, all, RepositorySnapshots, map[string]float64{
		sel(RepositorySnapshots, repo("web-s3")...): 1, sel(RepositorySnapshots, repo("web-gcs")...): 2,
		sel(RepositorySnapshots, repo("status-only")...): 7, sel(RepositorySnapshots, repo("empty")...): 0})
	expectFamily(t, all, RepositoryIntegrity, map[string]float64{
		sel(RepositoryIntegrity, repo("web-s3")...): 0, sel(RepositoryIntegrity, repo("web-gcs")...): 1})

	restores := map[string]float64{}
	for _, p := range restorePhases {
		restores[sel(RestoreSessions, with(repo("web-s3"), "phase", string(p))...)] = 0
	}
	restores[sel(RestoreSessions, with(repo("web-s3"), "phase", "Succeeded")...)] = 1
	restores[sel(RestoreSessions, with(repo("web-s3"), "phase", "Pending")...)] = 1
	expectFamily(t, all, RestoreSessions, restores)

	// Every session was final or running before the informers started:
	// nothing was counted.
	expectFamily(t, all, BackupSessionsCompleted, nil)
}

func TestGaugesWaitForTheCaches(t *testing.T) {
	c := &Collector{synced: nil}
	if !c.cachesSynced() {
		t.Fatal("no informers: synced")
	}
	c.synced = append(c.synced, func() bool { return true }, func() bool { return false })
	if c.cachesSynced() {
		t.Fatal("one informer not synced, but cachesSynced said yes")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"123 B": 123, "1.5 MiB": 1572864, "2.0 GiB": 2 << 30, "1536Mi": 1536 << 20, "2G": 2e9, "42": 42, " 1 KiB ": 1024, "1.1 KiB": 1127,
	} {
		if got, ok := parseSize(in); !ok || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "lots", "-1 KiB", "1.5 XiB"} {
		if got, ok := parseSize(in); ok {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}
