// Package stallproxy puts a TCP proxy between a test's storage client and
// a real object store (MinIO) that stops answering at a chosen moment:
// from the chosen request on it forwards nothing more in either direction
// and leaves every connection open. A client then sees exactly what it
// sees of a store that was stopped (SIGSTOP) or cut off by a network
// partition: requests that are sent and never answered. Only the client's
// own context can end them. It lets tests prove that a backup stuck on
// such a store still ends when it is told to.
package stallproxy

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy is a running proxy.
type Proxy struct {
	// Addr is the host:port clients connect to instead of the store.
	Addr string
	// Stalled is closed when the proxy stopped forwarding.
	Stalled <-chan struct{}

	l       net.Listener
	target  string
	match   []byte
	after   int
	mu      sync.Mutex
	seen    int
	stalled chan struct{}
	stop    chan struct{}
	conns   []net.Conn
	wg      sync.WaitGroup
}

// Start proxies to target (host:port). It forwards everything until the
// client has begun its (after+1)th request whose bytes contain match (for
// example "PUT /bucket/prefix/data/"); that request and everything after
// it are held back. The proxy stops with the test.
func Start(t testing.TB, target, match string, after int) *Proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stalled := make(chan struct{})
	p := &Proxy{Addr: l.Addr().String(), Stalled: stalled, l: l, target: target, match: []byte(match),
		after: after, stalled: stalled, stop: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(s, c, true)
		go p.pipe(c, s, false)
	}
}

// pipe copies src to dst until the proxy stalls; then it holds the bytes
// it has and waits for the end of the test. Requests (fromClient) are
// scanned for the match, carrying a tail across reads so that a match
// split between two reads is found.
func (p *Proxy) pipe(dst, src net.Conn, fromClient bool) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	var carry []byte
	for {
		n, err := src.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			if fromClient && p.count(append(carry, chunk...)) {
				p.hold()
				return
			}
			if fromClient {
				carry = append(carry[:0], chunk[max(0, n-len(p.match)+1):]...)
			}
			select {
			case <-p.stalled:
				p.hold()
				return
			default:
			}
			if _, werr := dst.Write(chunk); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				return
			}
			if tc, ok := dst.(*net.TCPConn); ok {
				tc.CloseWrite()
			}
			return
		}
	}
}

// count counts matches in data and reports whether the proxy is (now)
// stalled.
func (p *Proxy) count(data []byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.stalled:
		return true
	default:
	}
	p.seen += bytes.Count(data, p.match)
	if p.seen > p.after {
		close(p.stalled)
		return true
	}
	return false
}

func (p *Proxy) hold() { <-p.stop }

func (p *Proxy) close() {
	close(p.stop)
	p.l.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
