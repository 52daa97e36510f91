package cluster

import (
	"context"
	"fmt"
	"time"
)

// waitFor polls check every interval until it reports done, the deadline
// passes, or one of the watched processes dies. On failure the error says
// what was awaited and the last state check reported, so a stuck start-up
// never hangs silently.
func waitFor(ctx context.Context, timeout time.Duration, what string, watch []*Proc, check func(context.Context) (bool, string)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := "not checked yet"
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, p := range watch {
			if dead, why := p.dead(); dead {
				return fmt.Errorf("waiting for %s: %s", what, why)
			}
		}
		done, state := check(ctx)
		if done {
			return nil
		}
		if state != "" {
			last = state
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out after %s waiting for %s; last state: %s", timeout, what, last)
		case <-tick.C:
		}
	}
}
