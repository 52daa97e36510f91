package backend

import (
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
	"time"

	"gocloud.dev/gcerrors"
)

// RetryPolicy says how often and how patiently transient storage errors
// (throttling, unavailability, timeouts, connection resets) are retried.
type RetryPolicy struct {
	// Attempts is the total number of tries, including the first.
	Attempts int
	// Initial is the first back-off delay; it doubles up to Max, with jitter.
	Initial time.Duration
	// Max caps a single delay.
	Max time.Duration
}

// DefaultRetry rides out a minute or so of store trouble.
var DefaultRetry = RetryPolicy{Attempts: 8, Initial: 200 * time.Millisecond, Max: 15 * time.Second}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Attempts <= 0 {
		p.Attempts = DefaultRetry.Attempts
	}
	if p.Initial <= 0 {
		p.Initial = DefaultRetry.Initial
	}
	if p.Max <= 0 {
		p.Max = DefaultRetry.Max
	}
	return p
}

// permanentError marks an error found by our own code that must not be retried.
type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

func permanent(err error) error { return &permanentError{err} }

// transient reports whether err is worth another try.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var p *permanentError
	var pe *fs.PathError
	if errors.As(err, &p) || errors.As(err, &pe) {
		// Local file-system errors (disk full, read-only) do not heal by waiting.
		return false
	}
	// A store's (or token service's) answer decides, also behind a
	// credential error: an STS or metadata service that answers 503 is
	// worth waiting for, one that answers 403 is not.
	if a := answerOf(err); a.status != 0 {
		return a.transient()
	}
	if noCredentials(err) || final(err) {
		return false
	}
	switch gcerrors.Code(err) {
	case gcerrors.ResourceExhausted, gcerrors.DeadlineExceeded, gcerrors.Internal, gcerrors.Unknown:
		return true
	}
	return false
}

// do runs op until it succeeds, fails permanently or attempts run out.
func (p RetryPolicy) do(ctx context.Context, op func() error) error {
	delay := p.Initial
	var err error
	for attempt := 1; ; attempt++ {
		err = op()
		if err == nil || attempt >= p.Attempts || !transient(ctx, err) {
			return err
		}
		sleep := delay/2 + time.Duration(rand.Int64N(int64(delay)))
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		delay *= 2
		if delay > p.Max {
			delay = p.Max
		}
	}
}
