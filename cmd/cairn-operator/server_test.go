package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cairnbackup/cairn/pkg/metrics"
)

// status is what mux answers to GET path.
func status(mux *http.ServeMux, path string) int {
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code
}

func TestHandlers(t *testing.T) {
	reg := metrics.New()
	p := &probes{}
	p.ready.Store(true)
	for _, tc := range []struct {
		name                   string
		metrics, health        string
		profiling              bool
		wantMetrics, wantPprof string // address serving it, "" for none
	}{
		{name: "defaults", metrics: ":8080", health: ":8081", wantMetrics: ":8080"},
		{name: "profiling next to metrics", metrics: ":8080", health: ":8081", profiling: true, wantMetrics: ":8080", wantPprof: ":8080"},
		{name: "one address", metrics: ":8081", health: ":8081", profiling: true, wantMetrics: ":8081", wantPprof: ":8081"},
		{name: "metrics off", metrics: "", health: ":8081", profiling: true, wantPprof: ":8081"},
		{name: "metrics off, no profiling", metrics: "", health: ":8081"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := handlers(&options{metricsAddr: tc.metrics, healthAddr: tc.health, profiling: tc.profiling}, reg, p)
			if code := status(got[tc.health], "/readyz"); code != http.StatusOK {
				t.Errorf("/readyz on %s: %d", tc.health, code)
			}
			for addr, mux := range got {
				if want, code := addr == tc.wantMetrics, status(mux, "/metrics"); want != (code == http.StatusOK) {
					t.Errorf("/metrics on %q: %d, want it served: %v", addr, code, want)
				}
				if want, code := addr == tc.wantPprof, status(mux, "/debug/pprof/heap?debug=1"); want != (code == http.StatusOK) {
					t.Errorf("/debug/pprof/heap on %q: %d, want it served: %v", addr, code, want)
				}
			}
		})
	}
}
