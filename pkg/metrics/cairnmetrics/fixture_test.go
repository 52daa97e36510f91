package cairnmetrics

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	cairnfake "github.com/cairnbackup/cairn/client/clientset/versioned/fake"
	cairninformers "github.com/cairnbackup/cairn/client/informers/externalversions"
	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/labels"
	"github.com/cairnbackup/cairn/pkg/metrics"
)

// now is the clock of every test here.
var now = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

func meta(name string, created time.Time) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name), CreationTimestamp: metav1.NewTime(created)}
}

func config(name string, created time.Time, sessions ...corev1alpha1.Session) *corev1alpha1.BackupConfiguration {
	return &corev1alpha1.BackupConfiguration{ObjectMeta: meta(name, created), Spec: corev1alpha1.BackupConfigurationSpec{Sessions: sessions}}
}

func schedSession(name, cron string) corev1alpha1.Session {
	return corev1alpha1.Session{Name: name, Scheduler: corev1alpha1.SchedulerSpec{Schedule: cron}}
}

func backupSession(name, config, session string, created time.Time, phase corev1alpha1.BackupSessionPhase, duration string) *corev1alpha1.BackupSession {
	return &corev1alpha1.BackupSession{ObjectMeta: meta(name, created),
		Spec:   corev1alpha1.BackupSessionSpec{Invoker: common.TypedLocalObjectReference{Kind: "BackupConfiguration", Name: config}, Session: session},
		Status: corev1alpha1.BackupSessionStatus{Phase: phase, Duration: duration}}
}

// snapshot is a Snapshot of backup session bs with one component of the
// given stats.
func snapshot(name, repo, config, session, bs string, phase storagev1alpha1.SnapshotPhase, taken time.Time, took string, processed, uploaded int64) *storagev1alpha1.Snapshot {
	s := &storagev1alpha1.Snapshot{ObjectMeta: meta(name, taken),
		Spec: storagev1alpha1.SnapshotSpec{Repository: repo, Session: session, BackupSession: bs}}
	s.Labels = map[string]string{labels.Config: config, labels.Session: session}
	s.Status = storagev1alpha1.SnapshotStatus{Phase: phase, SnapshotTime: &metav1.Time{Time: taken}, TotalComponents: 1,
		Components: map[string]storagev1alpha1.Component{"dump": {Phase: storagev1alpha1.ComponentSucceeded, Duration: took,
			Stats: &storagev1alpha1.FileStats{TotalBytes: processed, UploadedBytes: uploaded}}}}
	return s
}

func repository(name string, status storagev1alpha1.RepositoryStatus) *storagev1alpha1.Repository {
	return &storagev1alpha1.Repository{ObjectMeta: meta(name, now.Add(-30*24*time.Hour)), Status: status}
}

func restore(name, repo string, phase corev1alpha1.RestorePhase, duration string) *corev1alpha1.RestoreSession {
	return &corev1alpha1.RestoreSession{ObjectMeta: meta(name, now.Add(-time.Hour)),
		Spec:   corev1alpha1.RestoreSessionSpec{DataSource: corev1alpha1.RestoreDataSource{Repository: repo, Snapshot: "latest"}},
		Status: corev1alpha1.RestoreSessionStatus{Phase: phase, Duration: duration}}
}

// fixture is a Collector over started informers of a fake clientset.
type fixture struct {
	t      *testing.T
	ctx    context.Context
	client *cairnfake.Clientset
	c      *Collector
	reg    *metrics.Registry
}

func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	client := cairnfake.NewSimpleClientset(objs...)
	f := cairninformers.NewSharedInformerFactory(client, 0)
	reg := metrics.New()
	c := New(f, func() time.Time { return now })
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	if err := c.t.watch(f); err != nil {
		t.Fatal(err)
	}
	f.Start(ctx.Done())
	t.Cleanup(func() { cancel(); f.Shutdown() })
	for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
		if !ok {
			t.Fatalf("%v did not sync", typ)
		}
	}
	return &fixture{t: t, ctx: ctx, client: client, c: c, reg: reg}
}

// series gathers the registry and returns every cairn_ sample (histograms
// as their _count and _sum) keyed `name{label="value",...}`, labels sorted.
func (f *fixture) series() map[string]float64 {
	f.t.Helper()
	return gatherSeries(f.t, f.reg)
}

func gatherSeries(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range families {
		if !strings.HasPrefix(mf.GetName(), "cairn_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			var lv []string
			for _, l := range m.GetLabel() {
				lv = append(lv, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			slices.Sort(lv)
			key := func(suffix string) string { return mf.GetName() + suffix + "{" + strings.Join(lv, ",") + "}" }
			switch {
			case m.Gauge != nil:
				out[key("")] = m.GetGauge().GetValue()
			case m.Counter != nil:
				out[key("")] = m.GetCounter().GetValue()
			case m.Histogram != nil:
				out[key("_count")] = float64(m.GetHistogram().GetSampleCount())
				out[key("_sum")] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}

// family returns the series of one metric name.
func family(all map[string]float64, name string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range all {
		if strings.HasPrefix(k, name+"{") {
			out[k] = v
		}
	}
	return out
}

// sel is the key of a series of name with the given label pairs.
func sel(name string, pairs ...string) string {
	var lv []string
	for i := 0; i+1 < len(pairs); i += 2 {
		lv = append(lv, fmt.Sprintf("%s=%q", pairs[i], pairs[i+1]))
	}
	slices.Sort(lv)
	return name + "{" + strings.Join(lv, ",") + "}"
}

// expectFamily fails unless the series of name are exactly want.
func expectFamily(t *testing.T, all map[string]float64, name string, want map[string]float64) {
	t.Helper()
	got := family(all, name)
	for k, v := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("missing %s (want %v)", k, v)
		} else if g != v {
			t.Errorf("%s = %v, want %v", k, g, v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected %s = %v", k, v)
		}
	}
}
