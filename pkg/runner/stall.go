package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultStallTimeout is how long a backup may go without reading a byte
// or a file before the runner gives up on its store. A store that stopped
// answering (stopped, cut off by a partition) holds every upload forever:
// a request body blocks once the socket's buffers are full, and no
// timeout of the HTTP client covers that; the pipeline then stops reading
// because its buffers are full too. Without this a backup with no
// backupTimeout, and its session, would run forever. Three minutes is
// enough to upload the packs in flight (16 MiB each) over a link of a
// few hundred KiB/s, the slowest a backup is still usable on. A restore
// has the same limit: a download whose response stopped arriving waits
// as long on a socket that stays open, and writes nothing meanwhile.
const DefaultStallTimeout = 3 * time.Minute

// ErrStalled means the runner stopped a backup or restore whose data did
// not move for its stall timeout.
var ErrStalled = errors.New("no data moved")

func (r *Runner) stallTimeout() time.Duration {
	if r.StallTimeout > 0 {
		return r.StallTimeout
	}
	return DefaultStallTimeout
}

// watchStall returns a context that is cancelled with an error wrapping
// ErrStalled once moved has returned the same value for timeout, and a
// stop function that ends the watch and reports whether it fired.
func watchStall(ctx context.Context, moved func() int64, timeout time.Duration) (context.Context, func() bool) {
	ctx, cancel := context.WithCancelCause(ctx)
	tick := min(max(timeout/20, 100*time.Millisecond), 5*time.Second)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	fired := false
	go func() {
		defer wg.Done()
		t := time.NewTicker(tick)
		defer t.Stop()
		last, since := moved(), time.Now()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case now := <-t.C:
				if m := moved(); m != last {
					last, since = m, now
				} else if now.Sub(since) >= timeout {
					fired = true
					cancel(fmt.Errorf("%w for %s", ErrStalled, timeout))
					return
				}
			}
		}
	}()
	return ctx, func() bool {
		close(done)
		wg.Wait()
		cancel(nil)
		return fired
	}
}
