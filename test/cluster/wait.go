package cluster

import (
	"context"
	"time"

	"github.com/cairnbackup/cairn/test/internal/proc"
)

// waitFor is proc.Wait for checks that cannot fail fatally: they only say
// whether the state is reached and what they saw.
func waitFor(ctx context.Context, timeout time.Duration, what string, watch []*proc.Proc, check func(context.Context) (bool, string)) error {
	return proc.Wait(ctx, timeout, what, watch, func(ctx context.Context) (bool, string, error) {
		done, state := check(ctx)
		return done, state, nil
	})
}
