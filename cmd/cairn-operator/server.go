package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/klog/v2"

	"github.com/cairnbackup/cairn/pkg/metrics"
)

// probes are the answers of /healthz and /readyz.
type probes struct {
	ready  atomic.Bool                    // caches synced (or standing by for the Lease)
	leader *leaderelection.HealthzAdaptor // nil without leader election
}

func (p *probes) healthz(w http.ResponseWriter, r *http.Request) {
	if p.leader != nil {
		if err := p.leader.Check(r); err != nil {
			http.Error(w, "leader election: "+err.Error(), http.StatusInternalServerError)
			return
		}
	}
	_, _ = w.Write([]byte("ok"))
}

func (p *probes) readyz(w http.ResponseWriter, _ *http.Request) {
	if !p.ready.Load() {
		http.Error(w, "informer caches not synced yet", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ok"))
}

// serve runs an HTTP server on addr until ctx is done.
func serve(ctx context.Context, addr string, h http.Handler) {
	if addr == "" {
		return
	}
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			klog.FromContext(ctx).Error(err, "HTTP server failed", "address", addr)
		}
	}()
}

// startServers serves /metrics and the probes, and with --profiling Go's
// profiles next to /metrics.
func startServers(ctx context.Context, o *options, reg *metrics.Registry, p *probes) {
	for addr, mux := range handlers(o, reg, p) {
		serve(ctx, addr, mux)
	}
}

// handlers are the muxes to serve by address: the probes on the health
// address, /metrics on the metrics address (none when it is empty) and
// Go's profiles (with --profiling) next to /metrics, or next to the
// probes when metrics are off.
func handlers(o *options, reg *metrics.Registry, p *probes) map[string]*http.ServeMux {
	health := http.NewServeMux()
	health.HandleFunc("/healthz", p.healthz)
	health.HandleFunc("/readyz", p.readyz)
	out := map[string]*http.ServeMux{o.healthAddr: health}
	m := health
	if o.metricsAddr != "" {
		if o.metricsAddr != o.healthAddr {
			m = http.NewServeMux()
			out[o.metricsAddr] = m
		}
		m.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	}
	if o.profiling {
		servePprof(m)
	}
	return out
}

// servePprof adds Go's profiles (heap, goroutines, CPU...) to mux: how a
// memory peak is measured on a live operator (docs/operator-benchmark.md).
func servePprof(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}
