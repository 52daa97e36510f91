package bufpool

import "testing"

func TestGetSizes(t *testing.T) {
	var p Pool
	for _, c := range []struct{ n, want int }{
		{0, 4096}, {1, 4096}, {4096, 4096}, {4097, 6144}, {6144, 6144}, {6145, 8192},
		{3001, 4096}, {1 << 20, 1 << 20}, {1<<20 + 1, 3 << 19}, {1<<20 + 28, 3 << 19},
		{3<<19 + 1, 2 << 20}, {6 << 20, 6 << 20}, {8 << 20, 8 << 20},
	} {
		if b := p.Get(c.n); len(b) != 0 || cap(b) != c.want {
			t.Errorf("Get(%d): len %d cap %d, want 0 and %d", c.n, len(b), cap(b), c.want)
		}
	}
	if b := p.Get(9 << 20); cap(b) < 9<<20 {
		t.Errorf("Get beyond the largest class: cap %d", cap(b))
	}
}

func TestReuseAndIdleBound(t *testing.T) {
	p := Pool{MaxIdle: 3 * 8192}
	b := append(p.Get(5000), "data"...)
	p.Put(b)
	got := p.Get(6000)
	if len(got) != 0 || cap(got) != 6144 || &got[:1][0] != &b[:1][0] {
		t.Fatalf("buffer not reused: len %d cap %d", len(got), cap(got))
	}
	var held [][]byte
	for i := 0; i < 5; i++ {
		held = append(held, p.Get(8192))
	}
	for _, h := range held {
		p.Put(h)
	}
	if p.Idle() != 3*8192 {
		t.Fatalf("idle %d bytes, want the bound %d", p.Idle(), 3*8192)
	}
	for i := 0; i < 3; i++ {
		p.Get(8192)
	}
	if p.Idle() != 0 {
		t.Fatalf("idle %d after taking every kept buffer", p.Idle())
	}
}

func TestPutIgnoresForeignBuffers(t *testing.T) {
	var p Pool
	p.Put(make([]byte, 0, 5000))   // not a class size
	p.Put(make([]byte, 0, 100))    // too small
	p.Put(make([]byte, 0, 16<<20)) // too large
	if p.Idle() != 0 {
		t.Fatalf("foreign buffers kept: %d bytes", p.Idle())
	}
}

func TestEveryClassRoundTrips(t *testing.T) {
	p := Pool{MaxIdle: 1 << maxShift}
	seen := map[int]bool{}
	for n := 1; n <= 8<<20; n = n*5/4 + 1 {
		b := p.Get(n)
		if cap(b) < n || cap(b) > n*3/2+4096 {
			t.Fatalf("Get(%d) gave cap %d", n, cap(b))
		}
		seen[cap(b)] = true
		p.Put(b)
		if p.Idle() == 0 {
			t.Fatalf("class buffer of %d bytes not kept", cap(b))
		}
		p.Get(cap(b))
	}
	if len(seen) < nClasses-2 {
		t.Fatalf("only %d of %d classes reached", len(seen), nClasses)
	}
}
