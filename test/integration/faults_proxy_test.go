//go:build integration

package integration

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// storeProxy stands between the pods and the test's MinIO on the cluster's
// bridge, so a test can make the store misbehave in the middle of a
// backup the way real stores do: slow (a bandwidth limit on uploads, so
// a backup of a few tens of MiB is still running when the fault comes),
// stalled (every byte held and every connection left open: a store that
// was SIGSTOPped or cut off by a partition, whose requests are sent and
// never answered) or down (the listener closed and every connection
// reset: a killed store). Heal brings it back on the same address.
type storeProxy struct {
	// Endpoint is the URL pods use instead of the store's.
	Endpoint string

	addr   string
	target string
	// sent counts the bytes clients sent through the proxy.
	sent atomic.Int64

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	// rate is the upload limit in bytes/s (0: none); next is when the
	// shared limit lets the next read through.
	rate int64
	next time.Time
	// held is non-nil while the proxy stalls; closed when it heals.
	held      chan struct{}
	listening bool
	done      bool
}

// startStoreProxy proxies host:port target on addr's host (port 0 picks
// one) until the test ends.
func startStoreProxy(t *testing.T, addr, target string) *storeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &storeProxy{addr: ln.Addr().String(), target: target, ln: ln, listening: true, conns: map[net.Conn]struct{}{}}
	p.Endpoint = "http://" + p.addr
	go p.accept(ln)
	t.Cleanup(p.close)
	return p
}

func (p *storeProxy) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		if !p.track(c, s) {
			return
		}
		go p.pipe(s, c, true)
		go p.pipe(c, s, false)
	}
}

// track registers a connection pair; false once the proxy is closed.
func (p *storeProxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

// pipe copies src to dst, pacing uploads and holding everything while the
// proxy stalls. Either side's end closes both.
func (p *storeProxy) pipe(dst, src net.Conn, upload bool) {
	defer func() {
		dst.Close()
		src.Close()
	}()
	buf := make([]byte, 16<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if upload {
				p.pace(n)
				p.sent.Add(int64(n))
			}
			if held := p.stalled(); held != nil {
				<-held // a healed proxy has closed these connections
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// pace sleeps so that uploads through the proxy stay under its rate.
func (p *storeProxy) pace(n int) {
	p.mu.Lock()
	if p.rate <= 0 {
		p.mu.Unlock()
		return
	}
	now := time.Now()
	if p.next.Before(now) {
		p.next = now
	}
	p.next = p.next.Add(time.Duration(int64(n) * int64(time.Second) / p.rate))
	wait := p.next.Sub(now)
	p.mu.Unlock()
	time.Sleep(wait)
}

func (p *storeProxy) stalled() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held
}

// limit caps uploads at bytesPerSecond (0 lifts the cap).
func (p *storeProxy) limit(bytesPerSecond int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rate = bytesPerSecond
}

// stall stops forwarding: what clients send is held and nothing answers.
func (p *storeProxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held == nil {
		p.held = make(chan struct{})
	}
}

// down kills the store: the listener closes and every connection is reset.
func (p *storeProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ln.Close()
	p.listening = false
	p.dropLocked()
}

// heal ends a stall or an outage: held connections are closed (their
// requests were lost, as with a restarted store) and new ones are served
// on the same address.
func (p *storeProxy) heal(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held != nil {
		close(p.held)
		p.held = nil
	}
	p.dropLocked()
	if p.listening {
		return
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("the store proxy cannot listen on %s again: %v", p.addr, err)
	}
	p.ln, p.listening = ln, true
	go p.accept(ln)
}

func (p *storeProxy) dropLocked() {
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// waitSent waits until clients sent n more bytes through the proxy than
// when it was called (the backup is uploading), and fails the test if
// that takes longer than timeout.
func (p *storeProxy) waitSent(ctx context.Context, t *testing.T, n int64, timeout time.Duration) {
	t.Helper()
	start := p.sent.Load()
	deadline := time.Now().Add(timeout)
	for p.sent.Load()-start < n {
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("only %d of %d bytes reached the store through the proxy in %s", p.sent.Load()-start, n, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *storeProxy) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = true
	p.ln.Close()
	if p.held != nil {
		close(p.held)
		p.held = nil
	}
	p.dropLocked()
}
