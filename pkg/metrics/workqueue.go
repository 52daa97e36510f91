package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/util/workqueue"
)

// workqueueMetrics implements client-go's workqueue.MetricsProvider with
// Prometheus vectors labelled by queue name, so every named queue (one per
// CRD kind) reports depth, adds, latency, work duration and retries.
type workqueueMetrics struct {
	depth, unfinished, longest *prometheus.GaugeVec
	adds, retries              *prometheus.CounterVec
	latency, workDuration      *prometheus.HistogramVec
}

// RegisterWorkqueueMetrics makes client-go's queues report into r. Call it
// once, before the first queue is created: client-go accepts only the first
// provider set in a process.
func (r *Registry) RegisterWorkqueueMetrics() {
	opts := func(name, help string) (string, string, string, string) { return Namespace, "workqueue", name, help }
	gauge := func(name, help string) *prometheus.GaugeVec {
		ns, sub, n, h := opts(name, help)
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: n, Help: h}, []string{"name"})
	}
	counter := func(name, help string) *prometheus.CounterVec {
		ns, sub, n, h := opts(name, help)
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: n, Help: h}, []string{"name"})
	}
	histogram := func(name, help string) *prometheus.HistogramVec {
		ns, sub, n, h := opts(name, help)
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: n, Help: h,
			Buckets: prometheus.ExponentialBuckets(1e-6, 10, 10)}, []string{"name"})
	}
	m := &workqueueMetrics{
		depth:        gauge("depth", "Current depth of the workqueue."),
		unfinished:   gauge("unfinished_work_seconds", "Seconds of work in progress not yet observed by work_duration."),
		longest:      gauge("longest_running_processor_seconds", "Seconds the longest running processor has been running."),
		adds:         counter("adds_total", "Adds handled by the workqueue."),
		retries:      counter("retries_total", "Retries handled by the workqueue."),
		latency:      histogram("queue_duration_seconds", "Seconds an item stays in the workqueue before being requested."),
		workDuration: histogram("work_duration_seconds", "Seconds processing an item from the workqueue takes."),
	}
	r.MustRegister(m.depth, m.unfinished, m.longest, m.adds, m.retries, m.latency, m.workDuration)
	workqueue.SetProvider(m)
}

func (m *workqueueMetrics) NewDepthMetric(name string) workqueue.GaugeMetric {
	return m.depth.WithLabelValues(name)
}
func (m *workqueueMetrics) NewAddsMetric(name string) workqueue.CounterMetric {
	return m.adds.WithLabelValues(name)
}
func (m *workqueueMetrics) NewLatencyMetric(name string) workqueue.HistogramMetric {
	return m.latency.WithLabelValues(name)
}
func (m *workqueueMetrics) NewWorkDurationMetric(name string) workqueue.HistogramMetric {
	return m.workDuration.WithLabelValues(name)
}
func (m *workqueueMetrics) NewUnfinishedWorkSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return m.unfinished.WithLabelValues(name)
}
func (m *workqueueMetrics) NewLongestRunningProcessorSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return m.longest.WithLabelValues(name)
}
func (m *workqueueMetrics) NewRetriesMetric(name string) workqueue.CounterMetric {
	return m.retries.WithLabelValues(name)
}
