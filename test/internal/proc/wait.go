package proc

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Check is one poll of a wait: done when the awaited state is reached, state
// describing what was seen (kept for the timeout message), and a non-nil
// error to stop waiting at once because it can no longer succeed.
type Check func(ctx context.Context) (done bool, state string, err error)

// Wait polls check until it is done, the timeout passes, ctx ends, or one of
// the watched processes dies. Failures name what was awaited and the last
// state seen (or the dead process's log tail), so nothing hangs silently.
func Wait(ctx context.Context, timeout time.Duration, what string, watch []*Proc, check Check) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := "not checked yet"
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, p := range watch {
			if dead, why := p.Dead(); dead {
				return fmt.Errorf("waiting for %s: %s", what, why)
			}
		}
		done, state, err := check(ctx)
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
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

// HTTPCheck is a Check that is done when GET url answers with one of the
// accepted status codes (200 when none are given).
func HTTPCheck(url string, accept ...int) Check {
	if len(accept) == 0 {
		accept = []int{http.StatusOK}
	}
	client := &http.Client{Timeout: 3 * time.Second}
	return func(ctx context.Context) (bool, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, "", err
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, err.Error(), nil
		}
		resp.Body.Close()
		for _, code := range accept {
			if resp.StatusCode == code {
				return true, "", nil
			}
		}
		return false, fmt.Sprintf("GET %s: HTTP %d", url, resp.StatusCode), nil
	}
}
