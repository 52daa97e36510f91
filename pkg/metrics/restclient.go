package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	clientmetrics "k8s.io/client-go/tools/metrics"
)

// requestResults counts client-go's requests to the API server by status
// code, HTTP method and host, under the name client-go's own components use
// (rest_client_requests_total), so dashboards and the operator benchmark
// can count writes (POST, PUT, PATCH, DELETE) at steady state.
type requestResults struct{ c *prometheus.CounterVec }

func (r requestResults) Increment(_ context.Context, code, method, host string) {
	r.c.WithLabelValues(code, method, host).Inc()
}

// RegisterClientMetrics makes client-go report its request results into r.
// client-go accepts one registration per process; call it once at start-up.
func (r *Registry) RegisterClientMetrics() {
	clientmetrics.Register(clientmetrics.RegisterOpts{RequestResult: requestResults{r.newRequestCounter()}})
}

// newRequestCounter registers the request counter in r.
func (r *Registry) newRequestCounter() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rest_client_requests_total",
		Help: "Requests to the Kubernetes API server, by status code, method and host.",
	}, []string{"code", "method", "host"})
	r.MustRegister(c)
	return c
}
