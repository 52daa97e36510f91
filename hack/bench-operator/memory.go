package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/hack/internal/opbench"
)

// The Go runtime's gauges the sampler follows (the operator's Go
// collector exports them).
const (
	heapInuse  = "go_memstats_heap_inuse_bytes"
	goroutines = "go_goroutines"
)

// memory follows the operator's memory while the configs arrive: its
// resident set (VmRSS) once a second, and the Go runtime's heap in use and
// goroutines every 5 s (a scrape builds the operator's per-object metrics:
// scraping each second would add to the memory it measures), keeping the
// peaks. With a profile directory it also saves
// the operator's heap profile at each new peak of the resident set (at
// most every 5 s; the operator must run with --profiling), so the burst
// can be read with `go tool pprof` afterwards.
type memory struct {
	op         *opbench.Operator
	profileDir string

	mu            sync.Mutex
	lastScrape    time.Time
	peakRSS       int64 // KiB
	peakHeap      float64
	peakRoutines  float64
	lastProfile   time.Time
	profiles      int
	profileErrors int
}

// follow samples until ctx ends.
func (m *memory) follow(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		m.sample(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *memory) sample(ctx context.Context) {
	rss := m.op.RSS()
	m.mu.Lock()
	defer m.mu.Unlock()
	if time.Since(m.lastScrape) >= 5*time.Second {
		m.lastScrape = time.Now()
		if g, err := m.op.Gauges(ctx, heapInuse, goroutines); err == nil {
			m.peakHeap = max(m.peakHeap, g[heapInuse])
			m.peakRoutines = max(m.peakRoutines, g[goroutines])
		}
	}
	if rss <= m.peakRSS {
		return
	}
	m.peakRSS = rss
	if m.profileDir == "" || time.Since(m.lastProfile) < 5*time.Second {
		return
	}
	m.lastProfile = time.Now()
	if err := m.saveProfile(ctx, rss); err != nil {
		m.profileErrors++
		if m.profileErrors == 1 {
			fmt.Fprintf(os.Stderr, "  heap profile: %v (is the operator running with --profiling?)\n", err)
		}
	}
}

func (m *memory) saveProfile(ctx context.Context, rss int64) error {
	p, err := m.op.HeapProfile(ctx)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(m.profileDir, 0o755); err != nil {
		return err
	}
	m.profiles++
	name := fmt.Sprintf("heap-%02d-rss-%.0fMiB.pb.gz", m.profiles, mib(rss))
	return os.WriteFile(filepath.Join(m.profileDir, name), p, 0o644)
}

// summary says the peaks, and where the profiles are.
func (m *memory) summary() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "while the configs arrived: peak RSS %.1f MiB (read each second), peak Go heap in use %.1f MiB and goroutines %.0f (scraped every 5 s)\n",
		mib(m.peakRSS), m.peakHeap/(1<<20), m.peakRoutines)
	if m.profiles > 0 {
		fmt.Fprintf(&b, "%d heap profiles in %s (go tool pprof -sample_index=inuse_space <file>)\n", m.profiles, m.profileDir)
	}
	return b.String()
}
