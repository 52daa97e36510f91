package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	cairninformers "github.com/cairnbackup/cairn/client/informers/externalversions"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
)

// watch records, through informers on the bench namespace, when each
// BackupSession and its first backup Job appeared, how often Snapshots
// changed, and how long the backups took.
type watch struct {
	mu sync.Mutex
	// seen and jobSeen are when the informers delivered each session and
	// its first backup Job; stamp and jobStamp their creationTimestamps.
	seen, jobSeen, stamp, jobStamp map[string]time.Time
	// snapshotUpdates counts Snapshot updates (operator and runner writes).
	snapshotUpdates int
	// durations holds each finished component's duration, by
	// "<snapshot>/<component>".
	durations map[string]time.Duration
}

func startWatch(ctx context.Context, cairn cairnclient.Interface, kube kubernetes.Interface, ns string) (*watch, error) {
	w := &watch{seen: map[string]time.Time{}, jobSeen: map[string]time.Time{}, stamp: map[string]time.Time{},
		jobStamp: map[string]time.Time{}, durations: map[string]time.Duration{}}
	cf := cairninformers.NewSharedInformerFactoryWithOptions(cairn, 0, cairninformers.WithNamespace(ns))
	kf := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithNamespace(ns))
	handlers := []struct {
		inf cache.SharedIndexInformer
		h   cache.ResourceEventHandlerFuncs
	}{
		{cf.Core().V1alpha1().BackupSessions().Informer(), cache.ResourceEventHandlerFuncs{AddFunc: w.onSession}},
		{kf.Batch().V1().Jobs().Informer(), cache.ResourceEventHandlerFuncs{AddFunc: w.onJob}},
		{cf.Storage().V1alpha1().Snapshots().Informer(), cache.ResourceEventHandlerFuncs{UpdateFunc: w.onSnapshot}},
	}
	for _, h := range handlers {
		if _, err := h.inf.AddEventHandler(h.h); err != nil {
			return nil, err
		}
	}
	cf.Start(ctx.Done())
	kf.Start(ctx.Done())
	if !allSynced(cf.WaitForCacheSync(ctx.Done())) || !allSynced(kf.WaitForCacheSync(ctx.Done())) {
		return nil, fmt.Errorf("the bench's informers did not sync")
	}
	return w, nil
}

func allSynced[K comparable](m map[K]bool) bool {
	for _, ok := range m {
		if !ok {
			return false
		}
	}
	return true
}

func (w *watch) onSession(obj any) {
	bs, ok := obj.(*corev1alpha1.BackupSession)
	if !ok {
		return
	}
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.seen[bs.Name]; !ok {
		w.seen[bs.Name], w.stamp[bs.Name] = now, bs.CreationTimestamp.Time
	}
}

func (w *watch) onJob(obj any) {
	j, ok := obj.(*batchv1.Job)
	if !ok {
		return
	}
	session := j.Labels[jobs.LabelBackupSession]
	if session == "" || j.Labels[jobs.LabelDataComponent] == jobs.ComponentRetention {
		return
	}
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.jobSeen[session]; !ok {
		w.jobSeen[session], w.jobStamp[session] = now, j.CreationTimestamp.Time
	}
}

func (w *watch) onSnapshot(_, obj any) {
	s, ok := obj.(*storagev1alpha1.Snapshot)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.snapshotUpdates++
	for name, c := range s.Status.Components {
		if d, err := time.ParseDuration(c.Duration); err == nil && c.Phase == storagev1alpha1.ComponentSucceeded {
			w.durations[s.Name+"/"+name] = d
		}
	}
}

// results are the watch's numbers.
type results struct {
	latency, stampLatency []time.Duration // sorted
	missing               int
	snapshotUpdates       int
	meanBackup            time.Duration
}

func (w *watch) result() results {
	w.mu.Lock()
	defer w.mu.Unlock()
	var r results
	for name, seen := range w.seen {
		job, ok := w.jobSeen[name]
		if !ok {
			r.missing++
			continue
		}
		r.latency = append(r.latency, job.Sub(seen))
		r.stampLatency = append(r.stampLatency, w.jobStamp[name].Sub(w.stamp[name]))
	}
	sort.Slice(r.latency, func(i, j int) bool { return r.latency[i] < r.latency[j] })
	sort.Slice(r.stampLatency, func(i, j int) bool { return r.stampLatency[i] < r.stampLatency[j] })
	r.snapshotUpdates = w.snapshotUpdates
	var total time.Duration
	for _, d := range w.durations {
		total += d
	}
	if len(w.durations) > 0 {
		r.meanBackup = total / time.Duration(len(w.durations))
	}
	return r
}

// quantile is the q-quantile (nearest rank) of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func (r results) p(q float64) time.Duration      { return quantile(r.latency, q) }
func (r results) pStamp(q float64) time.Duration { return quantile(r.stampLatency, q) }

// timeline says how the burst went: the latency deciles, and how many
// sessions had been delivered and had their Job by each half second
// after start, so a slow tail can be told from a slow start.
func (w *watch) timeline(start time.Time) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var seen, jobs []time.Duration
	for name, t := range w.seen {
		seen = append(seen, t.Sub(start))
		if j, ok := w.jobSeen[name]; ok {
			jobs = append(jobs, j.Sub(start))
		}
	}
	sort.Slice(seen, func(i, j int) bool { return seen[i] < seen[j] })
	sort.Slice(jobs, func(i, j int) bool { return jobs[i] < jobs[j] })
	var b strings.Builder
	b.WriteString("sessions delivered / Jobs delivered by")
	const step = 500 * time.Millisecond
	for t := step; len(jobs) > 0; t += step {
		ns := sort.Search(len(seen), func(i int) bool { return seen[i] > t })
		nj := sort.Search(len(jobs), func(i int) bool { return jobs[i] > t })
		fmt.Fprintf(&b, " %.1fs %d/%d", t.Seconds(), ns, nj)
		if nj == len(jobs) {
			break
		}
	}
	return b.String()
}

// deciles are the latency's 10th to 90th percentiles.
func (r results) deciles() string {
	parts := make([]string, 0, 9)
	for q := 1; q <= 9; q++ {
		parts = append(parts, ms(r.p(float64(q)/10)))
	}
	return strings.Join(parts, " ")
}
