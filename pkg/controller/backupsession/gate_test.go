package backupsession

import (
	"context"
	"testing"
	"time"
)

// TestStartGate: the writes after a start's Jobs wait while another start
// is on its way to its Jobs, and go as soon as it got there.
func TestStartGate(t *testing.T) {
	g := newStartGate()
	ctx := context.Background()
	waited := func() time.Duration {
		start := time.Now()
		g.wait(ctx)
		return time.Since(start)
	}
	if d := waited(); d > time.Second {
		t.Fatalf("an idle gate held a write for %v", d)
	}
	endA := g.begin()
	endB := g.begin()
	done := make(chan time.Duration)
	go func() { done <- waited() }()
	endA()
	endA() // a second call is a no-op, not another start's end
	select {
	case d := <-done:
		t.Fatalf("a write went after %v while a start was still on its way to its Jobs", d)
	case <-time.After(100 * time.Millisecond):
	}
	endB()
	select {
	case <-done:
	case <-time.After(maxGateWait - time.Second):
		t.Fatal("the write still waited once every start had its Jobs")
	}
	// A start that never ends holds the writes at most maxGateWait; a
	// cancelled context lets them go at once.
	g.begin()
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	start := time.Now()
	g.wait(cctx)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("a cancelled wait took %v", d)
	}
}
