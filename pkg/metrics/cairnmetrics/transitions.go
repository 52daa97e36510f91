package cairnmetrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	cairninformers "github.com/cairnbackup/cairn/client/informers/externalversions"
	storagelisters "github.com/cairnbackup/cairn/client/listers/storage/v1alpha1"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

// transitions counts sessions once each, when this process sees them reach
// a final phase. seen holds the UIDs of final sessions already accounted
// for (counted, or final before the process started); an object leaves it
// when it is deleted, so it is bounded by the sessions that exist.
type transitions struct {
	snaps storagelisters.SnapshotLister
	now   func() time.Time

	mu   sync.Mutex
	seen map[types.UID]struct{}

	completed, processed, uploaded *prometheus.CounterVec
	duration                       *prometheus.HistogramVec
	retention                      *prometheus.CounterVec
	restoreCompleted               *prometheus.CounterVec
	restoreDuration                *prometheus.HistogramVec
}

func newTransitions(snaps storagelisters.SnapshotLister, now func() time.Time) *transitions {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	histogram := func(name, help string, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: durationBuckets}, labels)
	}
	return &transitions{
		snaps: snaps, now: now, seen: map[types.UID]struct{}{},
		completed: counter(BackupSessionsCompleted, "Backup sessions that reached a final phase (Succeeded, Failed, Skipped) while this operator process watched.",
			labelNamespace, labelConfig, labelSession, labelPhase),
		duration: histogram(BackupSessionDuration, "Duration of backup sessions that succeeded or failed while this operator process watched.",
			labelNamespace, labelConfig, labelSession, labelPhase),
		processed: counter(BackupProcessedBytes, "Logical bytes read by the backups that finished while this operator process watched.",
			labelNamespace, labelConfig, labelSession),
		uploaded: counter(BackupUploadedBytes, "Bytes added to repositories by the backups that finished while this operator process watched.",
			labelNamespace, labelConfig, labelSession),
		retention: counter(RetentionResults, "Retention policy applications after a backup, by repository and result (Applied, FailedToApply).",
			labelNamespace, labelRepository, labelResult),
		restoreCompleted: counter(RestoreSessionsCompleted, "Restores that reached a final phase (Succeeded, Failed, Invalid) while this operator process watched.",
			labelNamespace, labelRepository, labelPhase),
		restoreDuration: histogram(RestoreSessionDuration, "Duration of restores that succeeded or failed while this operator process watched.",
			labelNamespace, labelRepository, labelPhase),
	}
}

func (t *transitions) vectors() []prometheus.Collector {
	return []prometheus.Collector{t.completed, t.duration, t.processed, t.uploaded, t.retention, t.restoreCompleted, t.restoreDuration}
}

func (t *transitions) describe(ch chan<- *prometheus.Desc) {
	for _, v := range t.vectors() {
		v.Describe(ch)
	}
}

func (t *transitions) collect(ch chan<- prometheus.Metric) {
	for _, v := range t.vectors() {
		v.Collect(ch)
	}
}

// watch adds the handlers to informers the controllers already use.
func (t *transitions) watch(f cairninformers.SharedInformerFactory) error {
	core, st := f.Core().V1alpha1(), f.Storage().V1alpha1()
	for inf, h := range map[cache.SharedIndexInformer]cache.ResourceEventHandler{
		core.BackupSessions().Informer():       t.finalHandler(t.backupFinished),
		core.RestoreSessions().Informer():      t.finalHandler(t.restoreFinished),
		core.BackupConfigurations().Informer(): dropOnDelete(configLabels, t.completed, t.duration, t.processed, t.uploaded),
		st.Repositories().Informer():           dropOnDelete(repositoryLabels, t.retention, t.restoreCompleted, t.restoreDuration),
	} {
		if _, err := inf.AddEventHandler(h); err != nil {
			return err
		}
	}
	return nil
}

// finalHandler calls count once per object, on the first event that shows
// it final, unless that event is part of the initial list: a session final
// before this process started was counted by its predecessor, or never.
func (t *transitions) finalHandler(count func(obj any)) cache.ResourceEventHandler {
	observe := func(obj any, initial bool) {
		uid, final := finalUID(obj)
		if !final {
			return
		}
		t.mu.Lock()
		_, done := t.seen[uid]
		t.seen[uid] = struct{}{}
		t.mu.Unlock()
		if !done && !initial {
			count(obj)
		}
	}
	return cache.ResourceEventHandlerDetailedFuncs{
		AddFunc:    observe,
		UpdateFunc: func(_, obj any) { observe(obj, false) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if uid, _ := finalUID(obj); uid != "" {
				t.mu.Lock()
				delete(t.seen, uid)
				t.mu.Unlock()
			}
		},
	}
}

// finalUID is the UID of a session and whether its phase is final.
func finalUID(obj any) (types.UID, bool) {
	switch s := obj.(type) {
	case *corev1alpha1.BackupSession:
		return s.UID, s.Status.Phase.IsFinished()
	case *corev1alpha1.RestoreSession:
		return s.UID, s.Status.Phase.IsFinished()
	}
	return "", false
}

func (t *transitions) backupFinished(obj any) {
	bs := obj.(*corev1alpha1.BackupSession)
	ns, config, session, phase := bs.Namespace, bs.Spec.Invoker.Name, bs.Spec.Session, bs.Status.Phase
	t.completed.WithLabelValues(ns, config, session, string(phase)).Inc()
	if phase == corev1alpha1.BackupSessionSkipped {
		return
	}
	d := sessionDuration(bs.Status.Duration, bs.CreationTimestamp.Time, t.now())
	t.duration.WithLabelValues(ns, config, session, string(phase)).Observe(d.Seconds())
	snaps, _ := t.snaps.Snapshots(ns).List(labels.Everything())
	var processed, uploaded int64
	for _, s := range snaps {
		if s.Spec.BackupSession == bs.Name {
			p, u := componentBytes(s)
			processed, uploaded = processed+p, uploaded+u
		}
	}
	t.processed.WithLabelValues(ns, config, session).Add(float64(processed))
	t.uploaded.WithLabelValues(ns, config, session).Add(float64(uploaded))
	for _, r := range bs.Status.RetentionPolicy {
		if r.Phase == corev1alpha1.RetentionPolicyApplied || r.Phase == corev1alpha1.RetentionPolicyFailedToApply {
			t.retention.WithLabelValues(ns, r.Repository, string(r.Phase)).Inc()
		}
	}
}

func (t *transitions) restoreFinished(obj any) {
	rs := obj.(*corev1alpha1.RestoreSession)
	ns, repo, phase := rs.Namespace, rs.Spec.DataSource.Repository, rs.Status.Phase
	t.restoreCompleted.WithLabelValues(ns, repo, string(phase)).Inc()
	if phase != corev1alpha1.RestoreInvalid {
		d := sessionDuration(rs.Status.Duration, rs.CreationTimestamp.Time, t.now())
		t.restoreDuration.WithLabelValues(ns, repo, string(phase)).Observe(d.Seconds())
	}
}

// partialDeleter is a metric vector whose series can be dropped by labels.
type partialDeleter interface {
	DeletePartialMatch(prometheus.Labels) int
}

// dropOnDelete drops the series of vecs that match the labels of a deleted
// object (match is nil for other kinds), so series of configurations and
// repositories that come and go do not accumulate.
func dropOnDelete(match func(obj any) prometheus.Labels, vecs ...partialDeleter) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{DeleteFunc: func(obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		if m := match(obj); m != nil {
			for _, v := range vecs {
				v.DeletePartialMatch(m)
			}
		}
	}}
}

func configLabels(obj any) prometheus.Labels {
	if c, ok := obj.(*corev1alpha1.BackupConfiguration); ok {
		return prometheus.Labels{labelNamespace: c.Namespace, labelConfig: c.Name}
	}
	return nil
}

func repositoryLabels(obj any) prometheus.Labels {
	if r, ok := obj.(*storagev1alpha1.Repository); ok {
		return prometheus.Labels{labelNamespace: r.Namespace, labelRepository: r.Name}
	}
	return nil
}
