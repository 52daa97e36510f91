package bufpool

import (
	"bytes"
	"sync"
	"testing"
	"unsafe"
)

func TestLargeBuffersAreUsableAndReturned(t *testing.T) {
	var p Pool
	b := p.Get(1 << 20)
	if cap(b) != 1<<20 || len(b) != 0 {
		t.Fatalf("Get(1 MiB): len %d cap %d", len(b), cap(b))
	}
	b = b[:cap(b)]
	for i := range b {
		b[i] = byte(i)
	}
	for i := range b {
		if b[i] != byte(i) {
			t.Fatalf("byte %d reads back %d", i, b[i])
		}
	}
	if got := p.InUse(); got != 1<<20 {
		t.Fatalf("InUse %d while the buffer is out, want %d", got, 1<<20)
	}
	p.Put(b)
	if got := p.InUse(); got != 0 {
		t.Fatalf("InUse %d after Put", got)
	}
	if p.Idle() != 1<<20 {
		t.Fatalf("a buffer of a class in demand was not kept: idle %d", p.Idle())
	}
}

// A class nobody asks for any more gives its idle buffers back within two
// demand windows, while a class in use keeps what it needs.
func TestIdleFollowsDemand(t *testing.T) {
	var p Pool
	var big [][]byte
	for i := 0; i < 4; i++ {
		big = append(big, p.Get(1<<20))
	}
	for _, b := range big {
		p.Put(b)
	}
	if p.Idle() != 4<<20 {
		t.Fatalf("idle %d after returning four 1 MiB buffers, want %d", p.Idle(), 4<<20)
	}
	for i := 0; i < 2*demandWindow+1; i++ {
		p.Put(p.Get(100))
	}
	if p.Idle() != 4096 {
		t.Fatalf("idle %d after two windows of small requests, want only the small class (4096)", p.Idle())
	}
	// Steady demand for two buffers of a class keeps two idle, not more.
	for i := 0; i < 3*demandWindow; i++ {
		a, b := p.Get(300<<10), p.Get(300<<10)
		p.Put(a)
		p.Put(b)
	}
	if want := 2 * (384 << 10); p.Idle() != want { // and the 4 KiB class went cold
		t.Fatalf("idle %d under steady demand for two 384 KiB buffers, want %d", p.Idle(), want)
	}
}

// A heap slice that merely has a class size, or a class-sized slice from
// inside one of the pool's buffers, is never kept, handed out again or
// unmapped.
func TestForeignClassSizedSliceIsNotUnmapped(t *testing.T) {
	var p Pool
	held := p.Get(1 << 20) // makes the class in demand
	foreign := make([]byte, 0, 1<<20)
	p.Put(foreign)
	p.Put(held)
	for i := 0; i < 2*demandWindow+1; i++ { // let the class go cold
		p.Put(p.Get(100))
	}
	foreign = foreign[:cap(foreign)]
	foreign[len(foreign)-1] = 1 // still ours to touch: it was never unmapped
	if p.Idle() != 4096 {
		t.Fatalf("idle %d, want only the small class", p.Idle())
	}
	big := p.Get(2 << 20)
	inner := big[:cap(big)][1<<20:] // 1 MiB class by capacity, but inside big
	p.Put(inner)
	if got := p.Get(1 << 20); unsafe.SliceData(got[:1]) == unsafe.SliceData(inner[:1]) {
		t.Fatal("an interior slice was handed out as a buffer")
	}
	p.Put(big)
}

// Buffers handed out at the same time never overlap, under the race
// detector as well.
func TestConcurrentGetPutNeverShares(t *testing.T) {
	var p Pool
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(id byte) {
			defer wg.Done()
			// Filled with copy: one instrumented access per buffer under
			// -race, where the buffers are heap memory the detector checks.
			pattern := bytes.Repeat([]byte{id}, 3<<20)
			for i := 0; i < 60; i++ {
				n := []int{1000, 70 << 10, 1 << 20, 3 << 20}[i%4]
				b := p.Get(n)[:n]
				copy(b, pattern)
				for j := 0; j < len(b); j += 4093 {
					if b[j] != id {
						t.Errorf("buffer shared: byte %d is %d, want %d", j, b[j], id)
						return
					}
				}
				p.Put(b)
			}
		}(byte(g + 1))
	}
	wg.Wait()
	if p.InUse() != 0 {
		t.Fatalf("InUse %d after every buffer came back", p.InUse())
	}
}

func TestRegionPagesAreUsableAndReleased(t *testing.T) {
	b := MapRegion(16 << 20)
	if len(b) != 0 || cap(b) != 16<<20 {
		t.Fatalf("MapRegion: len %d cap %d", len(b), cap(b))
	}
	b = append(b, make([]byte, 3<<20)...)
	b[len(b)-1] = 7
	if b[len(b)-1] != 7 {
		t.Fatal("region not writable")
	}
	UnmapRegion(b)
	UnmapRegion(b[:0:0]) // nothing to release
	heap := make([]byte, 0, 1<<20)
	UnmapRegion(heap) // not a region: left alone
	heap = append(heap, 1)
	if heap[0] != 1 {
		t.Fatal("heap slice damaged")
	}
}

func TestDiscardKeepsNothing(t *testing.T) {
	var p Pool
	b := p.Get(1 << 20)
	p.Discard(b)
	if p.Idle() != 0 || p.InUse() != 0 {
		t.Fatalf("after Discard: idle %d, in use %d", p.Idle(), p.InUse())
	}
	p.Discard(make([]byte, 0, 5000)) // not a class size: ignored
}
