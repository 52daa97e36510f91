package metrics

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientmetrics "k8s.io/client-go/tools/metrics"
)

// requestResults counts client-go's requests to the API server by status
// code, HTTP method and host, under the name client-go's own components use
// (rest_client_requests_total).
type requestResults struct{ c *prometheus.CounterVec }

func (r requestResults) Increment(_ context.Context, code, method, host string) {
	r.c.WithLabelValues(code, method, host).Inc()
}

// requestsByResource counts requests by verb and resource
// (cairn_api_requests_total), so the steady-state writes the operator makes
// can be told apart from its leader-election Lease renewals, and times them
// (cairn_api_request_duration_seconds), so a slow start can be traced to
// the API call that made it slow.
type requestsByResource struct {
	c *prometheus.CounterVec
	d *prometheus.HistogramVec
}

func (r requestsByResource) Observe(_ context.Context, verb string, u url.URL, took time.Duration) {
	res := ResourceOf(u.Path)
	r.c.WithLabelValues(verb, res).Inc()
	if r.d != nil {
		r.d.WithLabelValues(verb, res).Observe(took.Seconds())
	}
}

// rateLimiterWait records how long requests waited for the client's own
// rate limiter (--kube-api-qps, --kube-api-burst) before they were sent
// (cairn_api_rate_limiter_wait_seconds): a burst of sessions that outruns
// the limiter shows here, not on the API server.
type rateLimiterWait struct{ h prometheus.Histogram }

func (r rateLimiterWait) Observe(_ context.Context, _ string, _ url.URL, waited time.Duration) {
	r.h.Observe(waited.Seconds())
}

// ResourceOf returns the resource (with "/subresource") an API path names:
// /apis/batch/v1/namespaces/a/cronjobs/x gives "cronjobs",
// /apis/core.cairn.dev/v1alpha1/namespaces/a/backupconfigurations/x/status
// gives "backupconfigurations/status". Unknown shapes give "other".
func ResourceOf(path string) string {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	var rest []string
	switch {
	case len(seg) >= 3 && seg[0] == "api":
		rest = seg[2:]
	case len(seg) >= 4 && seg[0] == "apis":
		rest = seg[3:]
	default:
		return "other"
	}
	if len(rest) >= 3 && rest[0] == "namespaces" {
		rest = rest[2:]
	}
	if len(rest) >= 3 {
		return rest[0] + "/" + rest[2]
	}
	return rest[0]
}

// RegisterClientMetrics makes client-go report its requests into r. client-go
// accepts one registration per process; call it once at start-up.
func (r *Registry) RegisterClientMetrics() {
	clientmetrics.Register(clientmetrics.RegisterOpts{
		RequestResult:      requestResults{r.newRequestCounter()},
		RequestLatency:     requestsByResource{r.newResourceCounter(), r.newRequestDuration()},
		RateLimiterLatency: rateLimiterWait{r.newRateLimiterWait()},
	})
}

// apiBuckets span a request answered at once (1 ms) to one held by an
// overloaded API server (about 16 s).
var apiBuckets = prometheus.ExponentialBuckets(0.001, 2.5, 12)

// newRequestDuration registers cairn_api_request_duration_seconds in r.
func (r *Registry) newRequestDuration() *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "api_request_duration_seconds",
		Help:    "Seconds from sending a request to the Kubernetes API server to its answer, by verb and resource.",
		Buckets: apiBuckets,
	}, []string{"verb", "resource"})
	r.MustRegister(h)
	return h
}

// newRateLimiterWait registers cairn_api_rate_limiter_wait_seconds in r.
func (r *Registry) newRateLimiterWait() prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "api_rate_limiter_wait_seconds",
		Help:    "Seconds requests to the Kubernetes API server waited for the operator's own client rate limiter (--kube-api-qps and --kube-api-burst).",
		Buckets: apiBuckets,
	})
	r.MustRegister(h)
	return h
}

// newRequestCounter registers rest_client_requests_total in r.
func (r *Registry) newRequestCounter() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rest_client_requests_total",
		Help: "Requests to the Kubernetes API server, by status code, method and host.",
	}, []string{"code", "method", "host"})
	r.MustRegister(c)
	return c
}

// newResourceCounter registers cairn_api_requests_total in r.
func (r *Registry) newResourceCounter() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "api_requests_total",
		Help: "Requests to the Kubernetes API server, by verb and resource (leases are leader election).",
	}, []string{"verb", "resource"})
	r.MustRegister(c)
	return c
}
