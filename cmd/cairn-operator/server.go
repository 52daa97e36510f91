package main

import (
	"context"
	"errors"
	"net/http"
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

// startServers serves /metrics and the probes.
func startServers(ctx context.Context, o *options, reg *metrics.Registry, p *probes) {
	health := http.NewServeMux()
	health.HandleFunc("/healthz", p.healthz)
	health.HandleFunc("/readyz", p.readyz)
	if o.metricsAddr == o.healthAddr {
		health.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		serve(ctx, o.healthAddr, health)
		return
	}
	m := http.NewServeMux()
	m.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	serve(ctx, o.metricsAddr, m)
	serve(ctx, o.healthAddr, health)
}
