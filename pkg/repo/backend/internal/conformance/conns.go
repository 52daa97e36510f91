package conformance

import (
	"context"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// reopens is how many buckets CheckReopensShareConnections opens in turn.
const reopens = 10

// CheckReopensShareConnections opens a bucket of the store at endpoint
// (an http URL, path kept) again and again, as the operator does once per
// controller sync, reading a missing key through each and closing it, and
// fails unless they all went over the same connection or two. A process
// whose every open built its own HTTP transport kept one idle connection
// per open, two goroutines and their buffers apiece, until it timed out:
// 1,000 opens held 125 MiB. open is the package's Open at that endpoint.
func CheckReopensShareConnections(t *testing.T, endpoint string, open func(ctx context.Context, endpoint string) (*blob.Bucket, error)) {
	t.Helper()
	proxied, opened := countConnections(t, endpoint)
	for i := range reopens {
		b, err := open(t.Context(), proxied)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if _, err := b.Attributes(t.Context(), "no-such-key"); gcerrors.Code(err) != gcerrors.NotFound {
			t.Fatalf("open %d: reading a missing key: %v, want NotFound", i, err)
		}
		if err := b.Close(); err != nil {
			t.Fatalf("closing open %d: %v", i, err)
		}
	}
	if n := opened(); n > 2 {
		t.Errorf("%d opens made %d connections to the store; want them to share the process's (at most 2)", reopens, n)
	}
}

// countConnections starts a TCP proxy in front of endpoint's host and
// returns endpoint with the proxy's address, and the number of
// connections clients made through it so far.
func countConnections(t *testing.T, endpoint string) (string, func() int64) {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatalf("endpoint %q: %v", endpoint, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		opened atomic.Int64
		wg     sync.WaitGroup
		mu     sync.Mutex
		conns  []net.Conn
	)
	// The clients' pools keep their connections open: cut them all.
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	keep := func(c net.Conn) {
		mu.Lock()
		defer mu.Unlock()
		conns = append(conns, c)
	}
	target := u.Host
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			opened.Add(1)
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			keep(client)
			keep(server)
			wg.Add(2)
			go func() { defer wg.Done(); defer server.Close(); _, _ = io.Copy(server, client) }()
			go func() { defer wg.Done(); defer client.Close(); _, _ = io.Copy(client, server) }()
		}
	}()
	u.Host = ln.Addr().String()
	return u.String(), opened.Load
}
