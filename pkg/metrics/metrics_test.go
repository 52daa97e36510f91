package metrics

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestObserveSyncCountsByKindAndResult(t *testing.T) {
	r := New()
	r.ObserveSync("backupstorage", "success", 0.01)
	r.ObserveSync("backupstorage", "error", 0.02)
	r.ObserveSync("backupstorage", "error", 0.02)
	if got := testutil.ToFloat64(r.Syncs.WithLabelValues("backupstorage", "error")); got != 2 {
		t.Fatalf("errors = %v, want 2", got)
	}
	if n := testutil.CollectAndCount(r.SyncDuration); n != 1 {
		t.Fatalf("duration series = %d, want 1", n)
	}
	var nilRegistry *Registry
	nilRegistry.ObserveSync("x", "success", 1) // must not panic
}

func TestRequestResultsCountsByMethod(t *testing.T) {
	r := New()
	rr := requestResults{c: r.newRequestCounter()}
	rr.Increment(context.Background(), "201", "POST", "api")
	rr.Increment(context.Background(), "200", "GET", "api")
	out, err := r.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, mf := range out {
		if mf.GetName() == "rest_client_requests_total" {
			found = len(mf.GetMetric()) == 2
		}
	}
	if !found {
		t.Fatalf("rest_client_requests_total with 2 series not gathered")
	}
	if !strings.Contains(rr.c.WithLabelValues("201", "POST", "api").Desc().String(), "rest_client_requests_total") {
		t.Fatal("wrong metric name")
	}
}

func TestResourceOf(t *testing.T) {
	for path, want := range map[string]string{
		"/api/v1/namespaces/a/pods":                                                  "pods",
		"/api/v1/namespaces/a/secrets/s":                                             "secrets",
		"/apis/batch/v1/namespaces/a/cronjobs/x":                                     "cronjobs",
		"/apis/core.cairn.dev/v1alpha1/namespaces/a/backupconfigurations/x/status":   "backupconfigurations/status",
		"/apis/coordination.k8s.io/v1/namespaces/cairn-system/leases/cairn-operator": "leases",
		"/apis/addons.cairn.dev/v1alpha1/addons":                                     "addons",
		"/api/v1/namespaces":                                                         "namespaces",
		"/api/v1/namespaces/a":                                                       "namespaces",
		"/healthz":                                                                   "other",
	} {
		if got := ResourceOf(path); got != want {
			t.Errorf("ResourceOf(%q) = %q, want %q", path, got, want)
		}
	}
}

// TestRequestDurationAndRateLimiterWait: each request is counted and timed
// by verb and resource, and the client's wait for its rate limiter is
// recorded apart.
func TestRequestDurationAndRateLimiterWait(t *testing.T) {
	r := New()
	obs := requestsByResource{r.newResourceCounter(), r.newRequestDuration()}
	u := url.URL{Path: "/apis/batch/v1/namespaces/a/jobs"}
	obs.Observe(context.Background(), "POST", u, 300*time.Millisecond)
	obs.Observe(context.Background(), "POST", u, 100*time.Millisecond)
	wait := rateLimiterWait{r.newRateLimiterWait()}
	wait.Observe(context.Background(), "POST", u, 2*time.Second)
	if got := testutil.ToFloat64(obs.c.WithLabelValues("POST", "jobs")); got != 2 {
		t.Fatalf("POST jobs counted %v times, want 2", got)
	}
	out, err := r.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]float64{}
	for _, mf := range out {
		for _, m := range mf.GetMetric() {
			if h := m.GetHistogram(); h != nil {
				sums[mf.GetName()] += h.GetSampleSum()
			}
		}
	}
	if d := sums["cairn_api_request_duration_seconds"]; d < 0.39 || d > 0.41 {
		t.Fatalf("request durations sum to %v s, want 0.4", d)
	}
	if w := sums["cairn_api_rate_limiter_wait_seconds"]; w != 2 {
		t.Fatalf("rate limiter waits sum to %v s, want 2", w)
	}
}
