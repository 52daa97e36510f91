package backupsession

import (
	"context"
	"sync"
	"time"
)

// maxGateWait bounds how long the writes after one start's Jobs wait for
// other starts, so a steady stream of sessions cannot hold them back.
const maxGateWait = 3 * time.Second

// startGate puts the API writes that follow a start's Jobs (the runner's
// Role and RoleBinding, the Snapshot's and the session's status) behind
// the other starts still on their way to their Jobs. A burst of sessions
// (a hundred schedules firing at 03:00) then gets every Job first: the
// RBAC writes are the API server's slowest (it checks the operator holds
// every permission it grants), and the runners' pods take seconds to
// start anyway, retrying their first read until their Role is there.
type startGate struct {
	mu sync.Mutex
	n  int
	// idle is closed when n drops to 0; replaced when it rises from 0.
	idle chan struct{}
}

func newStartGate() *startGate {
	g := &startGate{idle: make(chan struct{})}
	close(g.idle)
	return g
}

// begin marks a start on its way to its Jobs; end (which it returns, safe
// to call more than once) marks it there.
func (g *startGate) begin() (end func()) {
	g.mu.Lock()
	if g.n == 0 {
		g.idle = make(chan struct{})
	}
	g.n++
	g.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			if g.n--; g.n == 0 {
				close(g.idle)
			}
			g.mu.Unlock()
		})
	}
}

// wait returns once no start is on its way to its Jobs, after maxGateWait,
// or when ctx ends.
func (g *startGate) wait(ctx context.Context) {
	g.mu.Lock()
	idle := g.idle
	g.mu.Unlock()
	t := time.NewTimer(maxGateWait)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	case <-ctx.Done():
	}
}
