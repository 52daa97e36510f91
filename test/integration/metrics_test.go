//go:build integration

package integration

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/metrics/cairnmetrics"
	"github.com/cairnbackup/cairn/pkg/trigger"
	"github.com/cairnbackup/cairn/test/operatortest"
)

// TestOperatorMetricsAfterBackup backs up a PVC and restores it with the
// operator as deployed, then scrapes its /metrics through the metrics
// Service and checks the values: session phases, the last success time,
// bytes, repository size and snapshots, the schedule's interval, restores;
// and, when the same operator process watched the whole run, the counters
// and the duration histogram (each session counted once).
func TestOperatorMetricsAfterBackup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	e := newConfigEnv(ctx, t)
	kube := e.c.Client()
	e.runAsApp(ctx, t, "seed", "head -c 300000 /dev/urandom > /data/random.bin && echo hello > /data/a")

	bc := e.pvcConfig("metrics")
	bc.Spec.Sessions[0].Name = "yearly"
	bc.Spec.Sessions[0].Scheduler.Schedule = "0 3 1 1 *" // never during the test: only the manual trigger runs
	bc, err := e.cairn.CoreV1alpha1().BackupConfigurations(e.ns).Create(ctx, bc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.waitConfig(ctx, t, "metrics", 2*time.Minute, "Ready", isPhase(corev1alpha1.BackupConfigurationReady))

	operatorBefore := operatorPod(ctx, t, kube)
	bs, err := trigger.Create(ctx, e.cairn, e.ns, "metrics", "yearly", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.waitBackup(ctx, t, bs.Name)
	rs := &corev1alpha1.RestoreSession{
		ObjectMeta: metav1.ObjectMeta{Name: "back"},
		Spec: corev1alpha1.RestoreSessionSpec{
			Target: &common.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "data"},
			DataSource: corev1alpha1.RestoreDataSource{Repository: "metrics", Snapshot: corev1alpha1.LatestSnapshot,
				EncryptionSecret: common.ObjectReference{Name: "password"}},
			Addon: corev1alpha1.AddonInfo{Name: "pvc-addon", Tasks: []corev1alpha1.TaskReference{{Name: "logical-backup-restore"}}},
		},
	}
	if _, err := e.cairn.CoreV1alpha1().RestoreSessions(e.ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitRestore(ctx, t, "back")
	samePod := operatorBefore != "" && operatorPod(ctx, t, kube) == operatorBefore

	sess := map[string]string{"namespace": e.ns, "config": "metrics", "session": "yearly"}
	repo := map[string]string{"namespace": e.ns, "repository": "metrics"}
	with := func(base map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for bk, bv := range base {
			out[bk] = bv
		}
		return out
	}
	const year = 365 * 24 * time.Hour
	checks := []metricCheck{
		{cairnmetrics.BackupSessions, with(sess, "phase", "Succeeded"), eq(1)},
		{cairnmetrics.BackupSessions, with(sess, "phase", "Failed"), eq(0)},
		{cairnmetrics.BackupSessions, with(sess, "phase", "Running"), eq(0)},
		{cairnmetrics.BackupSessions, with(sess, "phase", "Pending"), eq(0)},
		{cairnmetrics.BackupLastSuccess, sess, between(float64(bs.CreationTimestamp.Unix()-2), float64(time.Now().Unix()+2))},
		{cairnmetrics.BackupLastFailed, sess, eq(0)},
		{cairnmetrics.BackupLastDuration, sess, between(0.5, 300)},
		{cairnmetrics.BackupLastProcessedBytes, sess, between(300000, 1e9)},
		{cairnmetrics.BackupLastUploadedBytes, sess, between(1, 1e9)},
		{cairnmetrics.BackupScheduleInterval, sess, between(year.Seconds(), (year + 24*time.Hour).Seconds())},
		{cairnmetrics.BackupNextRun, sess, between(float64(time.Now().Unix()), float64(time.Now().Add(year+24*time.Hour).Unix()))},
		{cairnmetrics.BackupPaused, sess, eq(0)},
		{cairnmetrics.ConfigurationCreated, map[string]string{"namespace": e.ns, "config": "metrics"}, eq(float64(bc.CreationTimestamp.Unix()))},
		{cairnmetrics.RepositorySize, repo, between(1, 1e9)},
		{cairnmetrics.RepositorySnapshots, repo, eq(1)},
		{cairnmetrics.RestoreSessions, with(repo, "phase", "Succeeded"), eq(1)},
		{cairnmetrics.RestoreSessions, with(repo, "phase", "Failed"), eq(0)},
	}
	if samePod {
		checks = append(checks,
			metricCheck{cairnmetrics.BackupSessionsCompleted, with(sess, "phase", "Succeeded"), eq(1)},
			metricCheck{cairnmetrics.BackupSessionDuration, with(sess, "phase", "Succeeded"), eq(1)}, // the histogram's count
			metricCheck{cairnmetrics.BackupProcessedBytes, sess, between(300000, 1e9)},
			metricCheck{cairnmetrics.BackupUploadedBytes, sess, between(1, 1e9)},
			metricCheck{cairnmetrics.RetentionResults, with(repo, "result", "Applied"), eq(1)},
			metricCheck{cairnmetrics.RestoreSessionsCompleted, with(repo, "phase", "Succeeded"), eq(1)},
		)
	} else {
		t.Logf("the operator pod changed during the test (%q before): its counters started after the sessions finished; checking the gauges only", operatorBefore)
	}

	// The gauges come from the operator's caches, a moment behind the API.
	var problems []string
	err = wait.PollUntilContextTimeout(ctx, 2*time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
		families, err := scrapeOperator(ctx, kube)
		if err != nil {
			problems = []string{err.Error()}
			return false, nil
		}
		problems = problems[:0]
		for _, c := range checks {
			if p := c.check(families); p != "" {
				problems = append(problems, p)
			}
		}
		return len(problems) == 0, nil
	})
	if err != nil {
		t.Fatalf("the operator's metrics after a backup and a restore:\n  %s", strings.Join(problems, "\n  "))
	}
}

// operatorPod is the name of the running operator pod ("" when there is
// not exactly one).
func operatorPod(ctx context.Context, t *testing.T, kube kubernetes.Interface) string {
	t.Helper()
	pods, err := kube.CoreV1().Pods(operatortest.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=cairn-operator"})
	if err != nil {
		t.Fatal(err)
	}
	var running []string
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			running = append(running, p.Name+"/"+string(p.UID))
		}
	}
	if len(running) != 1 {
		return ""
	}
	return running[0]
}

// scrapeOperator reads /metrics through the API server's proxy to the
// operator's metrics Service.
func scrapeOperator(ctx context.Context, kube kubernetes.Interface) (map[string]*dto.MetricFamily, error) {
	raw, err := kube.CoreV1().Services(operatortest.Namespace).ProxyGet("http", "cairn-operator-metrics", "metrics", "/metrics", nil).DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("GET /metrics through Service cairn-operator-metrics: %w", err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(bytes.NewReader(raw))
}

// metricCheck is one series (by name and exact labels) and its expected value.
type metricCheck struct {
	name   string
	labels map[string]string
	want   func(float64) string // "" when the value is right
}

func eq(w float64) func(float64) string {
	return func(v float64) string {
		if v != w {
			return fmt.Sprintf("%v, want %v", v, w)
		}
		return ""
	}
}

func between(lo, hi float64) func(float64) string {
	return func(v float64) string {
		if v < lo || v > hi {
			return fmt.Sprintf("%v, want %v..%v", v, lo, hi)
		}
		return ""
	}
}

// check finds the series and says what is wrong with it ("" when right).
// A histogram's value is its sample count.
func (c metricCheck) check(families map[string]*dto.MetricFamily) string {
	mf := families[c.name]
	if mf == nil {
		return c.name + " is not exported"
	}
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if !sameLabels(got, c.labels) {
			continue
		}
		var v float64
		switch {
		case m.Gauge != nil:
			v = m.GetGauge().GetValue()
		case m.Counter != nil:
			v = m.GetCounter().GetValue()
		case m.Histogram != nil:
			v = float64(m.GetHistogram().GetSampleCount())
		}
		if p := c.want(v); p != "" {
			return fmt.Sprintf("%s%v = %s", c.name, c.labels, p)
		}
		return ""
	}
	return fmt.Sprintf("%s%v has no series", c.name, c.labels)
}

func sameLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}
