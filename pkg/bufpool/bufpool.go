// Package bufpool lends byte slices in size classes from 4 KiB to 8 MiB, so
// the backup pipeline's per-chunk buffers (read, compress, seal) are reused
// instead of becoming garbage: a backup's memory is then what is in flight,
// not what the garbage collector has not reclaimed yet.
//
// A file's chunk is read straight into one buffer (see chunker.Splitter) and
// that buffer travels to the blob worker and back here; a small file takes a
// buffer about its own size. Classes are powers of two and 1.5 times powers
// of two, so a buffer is at most a third larger than asked for.
//
// Buffers of 64 KiB and more live outside the Go heap (see mem_unix.go): a
// buffer the pool lets go is unmapped at once, so its memory goes back to
// the system the moment the pipeline stops needing it, instead of staying
// in the heap until the collector and the scavenger get to it, and the
// collector's headroom (GOGC) is not sized on megabytes of chunk data.
//
// What the pool keeps idle follows demand: per class it keeps no more
// buffers than were out at once recently (see demandWindow), and never more
// than MaxIdle bytes in all. A backup that moves from large files to small
// ones gives its large buffers back within a few hundred requests.
package bufpool

import (
	"math/bits"
	"sync"
)

const (
	minShift = 12 // 4 KiB
	maxShift = 23 // 8 MiB
	// nClasses counts 4K, 6K, 8K, 12K, ... 6M, 8M.
	nClasses = 2*(maxShift-minShift) + 1
	// offHeapMin is the smallest class mapped outside the Go heap: below
	// it a page-granular mapping per buffer would waste more than the
	// collector costs.
	offHeapMin = 64 << 10
	// demandWindow is the number of Gets after which a class's recent peak
	// demand is re-measured. A class keeps idle buffers up to the larger
	// of its peak in the current and in the previous window, so a class
	// nobody asked for in two windows keeps none.
	demandWindow = 256
)

// DefaultMaxIdle is the idle-bytes bound of the zero Pool and of Shared:
// twice the backup's default chunk budget. Measured on 1 GiB of random
// files: with 4 MiB idle most buffers missed the pool (2.8 GB allocated,
// 596 collections, 1.85 s); with 16 MiB the pipeline allocates little and
// the backup took 1.21 s at 68 MB peak RSS.
const DefaultMaxIdle = 16 << 20

// Pool implements chunker.Buffers. The zero value is ready to use and keeps
// up to DefaultMaxIdle idle bytes; a Pool is safe for concurrent use.
// Every buffer taken with Get must be given back with Put exactly once and
// not touched afterwards: a large buffer's memory is unmapped when the pool
// lets it go.
type Pool struct {
	// MaxIdle bounds the bytes kept for reuse; 0 means DefaultMaxIdle.
	MaxIdle int

	mu      sync.Mutex
	idle    int
	gets    int
	classes [nClasses]classState
}

// classState is one size class: its idle buffers and its recent demand.
type classState struct {
	free [][]byte
	out  int // buffers handed out and not yet given back
	peak int // most out at once in the current demand window
	prev int // most out at once in the previous window
}

// wanted is how many idle buffers the class may keep right now.
func (c *classState) wanted() int { return max(c.peak, c.prev) - c.out }

// class returns the index and size of the smallest class holding n bytes,
// or -1 when n is above the largest class.
func class(n int) (int, int) {
	if n <= 1<<minShift {
		return 0, 1 << minShift
	}
	s := bits.Len(uint(n - 1)) // 1<<s is the smallest power of two >= n
	if s > maxShift {
		return -1, n
	}
	if half := 3 << (s - 2); n <= half {
		return 2*(s-minShift) - 1, half
	}
	return 2 * (s - minShift), 1 << s
}

// Get returns an empty slice with capacity at least n: exactly its class
// size for n up to 8 MiB.
func (p *Pool) Get(n int) []byte {
	i, size := class(n)
	if i < 0 {
		return make([]byte, 0, n)
	}
	p.mu.Lock()
	c := &p.classes[i]
	c.out++
	c.peak = max(c.peak, c.out)
	if p.gets++; p.gets%demandWindow == 0 {
		p.rotate()
	}
	if k := len(c.free); k > 0 {
		b := c.free[k-1]
		c.free[k-1] = nil
		c.free = c.free[:k-1]
		p.idle -= cap(b)
		p.mu.Unlock()
		checkPoison(b)
		return b[:0]
	}
	p.mu.Unlock()
	if size >= offHeapMin {
		if b := mapTracked(size); b != nil {
			return b
		}
	}
	return make([]byte, 0, size)
}

// Put takes b back. It is kept for reuse if its capacity is exactly a
// class size (anything else did not come from Get), a large one was mapped
// by this package, the class has been in demand lately and the idle bound
// allows; otherwise it is let go (an off-heap buffer is unmapped, a heap
// one left to the collector). The caller must not use b afterwards.
func (p *Pool) Put(b []byte) {
	capacity := cap(b)
	i, size := class(capacity)
	if i < 0 || size != capacity {
		return
	}
	limit := p.MaxIdle
	if limit <= 0 {
		limit = DefaultMaxIdle
	}
	poison(b)
	b = b[:0]
	p.mu.Lock()
	c := &p.classes[i]
	if c.out > 0 {
		c.out--
	}
	// A large buffer is only kept if it was mapped here: a class-sized
	// slice from elsewhere, or from inside one of our buffers, must never
	// be handed out again as if it were a buffer of its own.
	if (size < offHeapMin || isMapped(b)) && len(c.free) < c.wanted() && p.idle+capacity <= limit {
		c.free = append(c.free, b)
		p.idle += capacity
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	unmapTracked(b)
}

// Discard takes b back without keeping it for reuse: for a buffer its
// owner outgrew (a restore worker trading its range buffer for a larger
// one), which nobody is likely to ask for soon. Like Put, b must come from
// Get and must not be used afterwards.
func (p *Pool) Discard(b []byte) {
	capacity := cap(b)
	i, size := class(capacity)
	if i < 0 || size != capacity {
		return
	}
	p.mu.Lock()
	if c := &p.classes[i]; c.out > 0 {
		c.out--
	}
	p.mu.Unlock()
	unmapTracked(b)
}

// rotate starts a new demand window and lets go of the idle buffers that
// recent demand no longer justifies. p.mu is held.
func (p *Pool) rotate() {
	for i := range p.classes {
		c := &p.classes[i]
		c.prev, c.peak = c.peak, c.out
		for len(c.free) > max(c.wanted(), 0) {
			k := len(c.free) - 1
			b := c.free[k]
			c.free[k] = nil
			c.free = c.free[:k]
			p.idle -= cap(b)
			unmapTracked(b)
		}
	}
}

// Idle reports the bytes currently kept for reuse.
func (p *Pool) Idle() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.idle
}

// InUse reports the bytes of buffers handed out and not given back: zero
// whenever no pipeline is running, which tests use to prove that every
// path, error paths included, returns what it took.
func (p *Pool) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for i := range p.classes {
		_, size := class(classSize(i))
		n += p.classes[i].out * size
	}
	return n
}

// classSize is the size of class i.
func classSize(i int) int {
	if i%2 == 1 {
		return 3 << (minShift + i/2 - 1)
	}
	return 1 << (minShift + i/2)
}

// Shared is the process-wide pool: buffers given back by one stage (the
// blob worker) are taken by another (the file reader, the compressor).
var Shared Pool
