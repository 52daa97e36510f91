package backend

import (
	"context"
	"errors"
	"testing"
	"time"
)

type httpErr int

func (e httpErr) Error() string       { return "http status" }
func (e httpErr) HTTPStatusCode() int { return int(e) }

func TestRetryTransientThenSuccess(t *testing.T) {
	p := RetryPolicy{Attempts: 5, Initial: time.Millisecond, Max: 2 * time.Millisecond}
	for _, status := range []int{429, 500, 503} {
		calls := 0
		err := p.do(context.Background(), func() error {
			calls++
			if calls < 3 {
				return httpErr(status)
			}
			return nil
		})
		if err != nil || calls != 3 {
			t.Fatalf("status %d: err=%v after %d calls, want success on the 3rd", status, err, calls)
		}
	}
}

func TestRetryStopsOnPermanentErrors(t *testing.T) {
	p := RetryPolicy{Attempts: 5, Initial: time.Millisecond, Max: time.Millisecond}
	for _, err := range []error{httpErr(403), httpErr(404), httpErr(412), permanent(errors.New("truncated"))} {
		calls := 0
		got := p.do(context.Background(), func() error { calls++; return err })
		if calls != 1 || got == nil {
			t.Fatalf("%v: %d calls, err=%v; want one call and the error", err, calls, got)
		}
	}
	if !errors.Is(classify(httpErr(403)), ErrPermission) {
		t.Fatal("403 not classified as ErrPermission")
	}
}

func TestRetryGivesUpAndHonoursContext(t *testing.T) {
	p := RetryPolicy{Attempts: 3, Initial: time.Millisecond, Max: time.Millisecond}
	calls := 0
	if err := p.do(context.Background(), func() error { calls++; return httpErr(503) }); err == nil || calls != 3 {
		t.Fatalf("%d calls, err=%v; want 3 calls and the last error", calls, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls = 0
	slow := RetryPolicy{Attempts: 5, Initial: time.Hour, Max: time.Hour}
	if err := slow.do(ctx, func() error { calls++; return httpErr(503) }); err == nil || calls != 1 {
		t.Fatalf("cancelled context: %d calls, err=%v", calls, err)
	}
}
