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
	if b := mapBuffer(size); b != nil {
		regionsMu.Lock()
		regions[unsafe.Pointer(unsafe.SliceData(b))] = struct{}{}
		regionsMu.Unlock()
		return b
	}
	return make([]byte, 0, size)
}

// UnmapRegion releases a slice from MapRegion (any length, the same
// backing array); a heap fallback is left to the collector. The memory
// must not be touched afterwards.
func UnmapRegion(b []byte) {
	if cap(b) == 0 {
		return
	}
	base := unsafe.Pointer(unsafe.SliceData(b))
	regionsMu.Lock()
	_, ok := regions[base]
	delete(regions, base)
	regionsMu.Unlock()
	if ok {
		unmapBuffer(b)
	}
}

var (
	regionsMu sync.Mutex
	regions   = map[unsafe.Pointer]struct{}{}
)
