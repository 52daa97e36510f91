// Package metrics holds the operator's Prometheus registry and the metrics
// every controller shares: syncs, errors and sync durations per kind, the
// client-go workqueue metrics of each named queue, and client-go's REST
// request counts by verb and status code (which is how steady-state API
// writes are counted). It is its own registry, not the global default, so
// that tests can build a fresh one and nothing registers behind our back.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every metric Cairn defines.
const Namespace = "cairn"

// Registry collects the operator's metrics; /metrics serves it.
type Registry struct {
	*prometheus.Registry

	// Syncs counts controller syncs by kind and result ("success",
	// "requeue", "error"): a rising error rate is the first sign of trouble.
	Syncs *prometheus.CounterVec
	// SyncDuration is how long one sync of a kind took.
	SyncDuration *prometheus.HistogramVec
}

// New makes a registry with the Go runtime and process collectors and the
// per-kind sync metrics.
func New() *Registry {
	r := &Registry{
		Registry: prometheus.NewRegistry(),
		Syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "controller", Name: "syncs_total",
			Help: "Controller syncs by kind and result (success, requeue, error).",
		}, []string{"kind", "result"}),
		SyncDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "controller", Name: "sync_duration_seconds",
			Help:    "Duration of one controller sync, by kind.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
		}, []string{"kind"}),
	}
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		r.Syncs, r.SyncDuration)
	return r
}

// ObserveSync records one sync of kind with its result and duration in
// seconds. A nil registry records nothing, so controllers under test need none.
func (r *Registry) ObserveSync(kind, result string, seconds float64) {
	if r == nil {
		return
	}
	r.Syncs.WithLabelValues(kind, result).Inc()
	r.SyncDuration.WithLabelValues(kind).Observe(seconds)
}
