package bufpool

import (
	"sync"
	"unsafe"
)

// MapRegion returns an empty slice of capacity size whose memory lives
// outside the Go heap, for a large buffer that is filled once and reused
// (a pack being assembled for upload): its pages become resident only as
// they are written, so a buffer sized for the largest pack costs what the
// pack holds, and reusing it makes no garbage. Give it back with
// UnmapRegion once nothing can read it any more. Where the system has no
// mmap, or refuses, the slice comes from the Go heap.
func MapRegion(size int) []byte {
	if b := mapTracked(size); b != nil {
		return b
	}
	return make([]byte, 0, size)
}

// UnmapRegion releases a slice from MapRegion (any length, the same
// backing array); a heap fallback is left to the collector. The memory
// must not be touched afterwards.
func UnmapRegion(b []byte) {
	poison(b)
	unmapTracked(b)
}

// mappings records the base address of every buffer this package mapped
// (pool buffers and regions alike), so that only those are ever unmapped
// or reused as mapped buffers: a slice that merely has the right size, or
// one from inside a mapped buffer, is not among them.
var mappings struct {
	sync.Mutex
	bases map[unsafe.Pointer]struct{}
}

// mapTracked maps size bytes (see mapBuffer) and records them, or returns
// nil if the system refuses.
func mapTracked(size int) []byte {
	b := mapBuffer(size)
	if b == nil {
		return nil
	}
	mappings.Lock()
	if mappings.bases == nil {
		mappings.bases = make(map[unsafe.Pointer]struct{})
	}
	mappings.bases[unsafe.Pointer(unsafe.SliceData(b))] = struct{}{}
	mappings.Unlock()
	return b
}

// isMapped reports whether b starts a buffer from mapTracked.
func isMapped(b []byte) bool {
	if cap(b) == 0 {
		return false
	}
	mappings.Lock()
	_, ok := mappings.bases[unsafe.Pointer(unsafe.SliceData(b))]
	mappings.Unlock()
	return ok
}

// unmapTracked unmaps b if it starts a buffer from mapTracked and forgets
// it; anything else is left alone (to the collector, for a heap slice).
func unmapTracked(b []byte) {
	if cap(b) == 0 {
		return
	}
	base := unsafe.Pointer(unsafe.SliceData(b))
	mappings.Lock()
	_, ok := mappings.bases[base]
	delete(mappings.bases, base)
	mappings.Unlock()
	if ok {
		unmapBuffer(b)
	}
}
