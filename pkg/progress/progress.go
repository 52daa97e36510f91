// Package progress counts work done by a backup or restore and reports it
// periodically, so the CLI can draw a progress bar and the in-cluster runner
// can publish status without either knowing how the work is done.
package progress

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Status is one report: counters so far plus the derived rate and ETA.
type Status struct {
	FilesDone  int64         `json:"filesDone"`
	FilesTotal int64         `json:"filesTotal"`
	BytesDone  int64         `json:"bytesDone"`
	BytesTotal int64         `json:"bytesTotal"`
	Errors     int64         `json:"errors"`
	Elapsed    time.Duration `json:"elapsed"`
	// BytesPerSecond is the mean rate since the start.
	BytesPerSecond float64 `json:"bytesPerSecond"`
	// ETA is the estimated time left; zero while unknown (no totals yet).
	ETA time.Duration `json:"eta"`
	// TotalsKnown is true once the scan that computes the totals is done;
	// before that the totals only grow.
	TotalsKnown bool `json:"totalsKnown"`
	// Done is true in the final report.
	Done bool `json:"done"`
}

// Func receives reports. It is called from one goroutine at a time.
type Func func(Status)

// Tracker holds the counters. All methods are safe for concurrent use; a nil
// *Tracker ignores every call, so code paths need no nil checks.
type Tracker struct {
	filesDone, filesTotal atomic.Int64
	bytesDone, bytesTotal atomic.Int64
	errors                atomic.Int64
	totalsKnown           atomic.Bool
	start                 time.Time

	fn       Func
	stop     chan struct{}
	stopped  sync.WaitGroup
	stopOnce sync.Once
}

// New returns a Tracker that calls fn every interval (if fn is non-nil)
// until Finish is called or ctx ends.
func New(ctx context.Context, fn Func, interval time.Duration) *Tracker {
	t := &Tracker{start: time.Now(), fn: fn, stop: make(chan struct{})}
	if fn != nil && interval > 0 {
		t.stopped.Add(1)
		go t.loop(ctx, interval)
	}
	return t
}

func (t *Tracker) loop(ctx context.Context, interval time.Duration) {
	defer t.stopped.Done()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			t.fn(t.Status())
		case <-t.stop:
			return
		case <-ctx.Done():
			return
		}
	}
}

// AddTotal adds to the totals (called by the scanner as it finds work).
func (t *Tracker) AddTotal(files, bytes int64) {
	if t == nil {
		return
	}
	t.filesTotal.Add(files)
	t.bytesTotal.Add(bytes)
}

// TotalsDone marks the totals as final.
func (t *Tracker) TotalsDone() {
	if t != nil {
		t.totalsKnown.Store(true)
	}
}

// AddBytes counts bytes processed (read, or skipped as unchanged).
func (t *Tracker) AddBytes(n int64) {
	if t != nil {
		t.bytesDone.Add(n)
	}
}

// AddFiles counts finished files.
func (t *Tracker) AddFiles(n int64) {
	if t != nil {
		t.filesDone.Add(n)
	}
}

// AddError counts a non-fatal error (a file that vanished, say).
func (t *Tracker) AddError() {
	if t != nil {
		t.errors.Add(1)
	}
}

// Status returns the counters now.
func (t *Tracker) Status() Status {
	if t == nil {
		return Status{}
	}
	s := Status{
		FilesDone:   t.filesDone.Load(),
		FilesTotal:  t.filesTotal.Load(),
		BytesDone:   t.bytesDone.Load(),
		BytesTotal:  t.bytesTotal.Load(),
		Errors:      t.errors.Load(),
		Elapsed:     time.Since(t.start),
		TotalsKnown: t.totalsKnown.Load(),
	}
	if secs := s.Elapsed.Seconds(); secs > 0 {
		s.BytesPerSecond = float64(s.BytesDone) / secs
	}
	if s.TotalsKnown && s.BytesPerSecond > 0 && s.BytesTotal > s.BytesDone {
		s.ETA = time.Duration(float64(s.BytesTotal-s.BytesDone) / s.BytesPerSecond * float64(time.Second))
	}
	return s
}

// Finish stops the periodic reports and sends a final one with Done set.
// It is safe to call more than once; only the first call reports.
func (t *Tracker) Finish() Status {
	if t == nil {
		return Status{Done: true}
	}
	var s Status
	t.stopOnce.Do(func() {
		close(t.stop)
		t.stopped.Wait()
		s = t.Status()
		s.Done = true
		if t.fn != nil {
			t.fn(s)
		}
	})
	return s
}
