package cairnmetrics

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/labels"
)

// sessionKey names one session of one BackupConfiguration.
type sessionKey struct{ namespace, config, session string }

// repoKey names one Repository (restores are grouped by it too).
type repoKey struct{ namespace, repository string }

// success is the newest successful backup known for a session.
type success struct {
	set           bool
	at            time.Time
	backupSession string // "<namespace>/<name>", the key of snapshotBytes; "" when unknown
}

// offer keeps the newest; an equal time from the status does not replace
// the Snapshot that says which session it was.
func (s *success) offer(at time.Time, backupSession string) {
	if !s.set || at.After(s.at) {
		*s = success{set: true, at: at, backupSession: backupSession}
	}
}

// backupSummary is what the gauges say about one configuration session.
type backupSummary struct {
	sched        *corev1alpha1.Session // nil when the config or session is gone
	paused       bool
	nextRun      *metav1.Time
	phases       map[corev1alpha1.BackupSessionPhase]int
	lastFinished *corev1alpha1.BackupSession // newest Succeeded or Failed
	lastSuccess  success
}

// byteTotals are the stats of the components of one BackupSession's Snapshots.
type byteTotals struct{ processed, uploaded int64 }

// snapshotBytes sums the component stats of the Snapshots of each
// BackupSession, keyed "<namespace>/<BackupSession>".
func snapshotBytes(snaps []*storagev1alpha1.Snapshot) map[string]byteTotals {
	out := map[string]byteTotals{}
	for _, s := range snaps {
		if s.Spec.BackupSession == "" {
			continue
		}
		k := s.Namespace + "/" + s.Spec.BackupSession
		t := out[k]
		p, u := componentBytes(s)
		t.processed += p
		t.uploaded += u
		out[k] = t
	}
	return out
}

// componentBytes sums the stats the runners recorded in a Snapshot.
func componentBytes(s *storagev1alpha1.Snapshot) (processed, uploaded int64) {
	for _, c := range s.Status.Components {
		if c.Stats != nil {
			processed += c.Stats.TotalBytes
			uploaded += c.Stats.UploadedBytes
		}
	}
	return processed, uploaded
}

// backupSummaries groups the BackupSessions and Snapshots by configuration
// session, including every session a configuration declares, so a session
// that never ran has series too.
func (o *objects) backupSummaries(bytes map[string]byteTotals) map[sessionKey]*backupSummary {
	out := map[sessionKey]*backupSummary{}
	get := func(k sessionKey) *backupSummary {
		s := out[k]
		if s == nil {
			s = &backupSummary{phases: map[corev1alpha1.BackupSessionPhase]int{}}
			out[k] = s
		}
		return s
	}
	for _, c := range o.configs {
		next := map[string]*metav1.Time{}
		for _, st := range c.Status.Sessions {
			next[st.Name] = st.NextSchedule
		}
		for i := range c.Spec.Sessions {
			sess := &c.Spec.Sessions[i]
			s := get(sessionKey{c.Namespace, c.Name, sess.Name})
			s.sched, s.paused, s.nextRun = sess, c.Spec.Paused || sess.Scheduler.Suspend, next[sess.Name]
		}
	}
	for _, bs := range o.sessions {
		s := get(sessionKey{bs.Namespace, bs.Spec.Invoker.Name, bs.Spec.Session})
		phase := bs.Status.Phase
		if phase == "" {
			phase = corev1alpha1.BackupSessionPending
		}
		s.phases[phase]++
		if (phase == corev1alpha1.BackupSessionSucceeded || phase == corev1alpha1.BackupSessionFailed) &&
			(s.lastFinished == nil || newer(bs, s.lastFinished)) {
			s.lastFinished = bs
		}
	}
	// The last success is the newest Succeeded Snapshot of the session, as
	// status.sessions[].lastSuccessfulBackupTime says (Snapshots outlive
	// BackupSessions: history limits keep few sessions, retention many
	// snapshots); the status is taken too, should it know of a newer one.
	for _, snap := range o.snaps {
		config := snap.Labels[labels.Config]
		if snap.Status.Phase != storagev1alpha1.SnapshotSucceeded || snap.DeletionTimestamp != nil || config == "" || snap.Spec.Session == "" {
			continue
		}
		get(sessionKey{snap.Namespace, config, snap.Spec.Session}).lastSuccess.offer(snap.TakenAt(), snap.Namespace+"/"+snap.Spec.BackupSession)
	}
	for _, c := range o.configs {
		for _, st := range c.Status.Sessions {
			if st.LastSuccessfulBackupTime != nil {
				get(sessionKey{c.Namespace, c.Name, st.Name}).lastSuccess.offer(st.LastSuccessfulBackupTime.Time, "")
			}
		}
	}
	return out
}

// newer orders sessions by creation time, then name (names carry the
// trigger's Unix seconds).
func newer(a, b *corev1alpha1.BackupSession) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.After(b.CreationTimestamp.Time)
	}
	return a.Name > b.Name
}

// sessionDuration is a finished session's recorded duration (a Go duration
// string), or the time since it was created while none is recorded.
func sessionDuration(recorded string, created, now time.Time) time.Duration {
	if d, err := time.ParseDuration(recorded); err == nil && d >= 0 {
		return d
	}
	if now.After(created) {
		return now.Sub(created)
	}
	return 0
}

// repoSummary is what the gauges say about one Repository.
type repoSummary struct {
	size, snapshots int64
	integrity       *bool
}

// repositorySummaries computes size and count from the Repository's
// Snapshot objects, and reads its status for integrity and for a
// repository none of whose Snapshot objects exist.
func (o *objects) repositorySummaries() map[repoKey]*repoSummary {
	type fromSnaps struct {
		count, uploaded int64
		sound, damaged  bool
	}
	snaps := map[repoKey]*fromSnaps{}
	for _, s := range o.snaps {
		k := repoKey{s.Namespace, s.Spec.Repository}
		f := snaps[k]
		if f == nil {
			f = &fromSnaps{}
			snaps[k] = f
		}
		if s.Status.Phase == storagev1alpha1.SnapshotSucceeded {
			f.count++
			_, u := componentBytes(s)
			f.uploaded += u
		}
		if s.Status.Integrity != nil {
			f.sound = f.sound || *s.Status.Integrity
			f.damaged = f.damaged || !*s.Status.Integrity
		}
	}
	out := map[repoKey]*repoSummary{}
	for _, r := range o.repos {
		k := repoKey{r.Namespace, r.Name}
		f := snaps[k]
		if f == nil {
			f = &fromSnaps{}
		}
		// The status says the same as the Snapshots (the operator computes
		// it from them) but rounds the size to a tenth of its unit: the
		// objects are exact, the status covers Snapshots not listed here.
		s := &repoSummary{size: f.uploaded, snapshots: f.count, integrity: r.Status.Integrity}
		if n, ok := parseSize(r.Status.Size); ok && f.count == 0 {
			s.size = n
		}
		if r.Status.SnapshotCount != nil && f.count == 0 {
			s.snapshots = int64(*r.Status.SnapshotCount)
		}
		if s.integrity == nil && (f.sound || f.damaged) {
			sound := !f.damaged
			s.integrity = &sound
		}
		out[k] = s
	}
	return out
}

// restoreSummaries counts RestoreSessions by repository and phase.
func (o *objects) restoreSummaries() map[repoKey]map[corev1alpha1.RestorePhase]int {
	out := map[repoKey]map[corev1alpha1.RestorePhase]int{}
	for _, rs := range o.restores {
		k := repoKey{rs.Namespace, rs.Spec.DataSource.Repository}
		if out[k] == nil {
			out[k] = map[corev1alpha1.RestorePhase]int{}
		}
		phase := rs.Status.Phase
		if phase == "" {
			phase = corev1alpha1.RestorePending
		}
		out[k][phase]++
	}
	return out
}
