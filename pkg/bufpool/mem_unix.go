//go:build unix && !race

package bufpool

import "syscall"

// raceHeap is false: large buffers are mapped outside the heap (see
// mem_race.go for race builds).
const raceHeap = false

// mapBuffer maps size bytes of private anonymous memory and returns them as
// an empty slice of that capacity, or nil if the system refuses (the caller
// then falls back to the Go heap). The memory is not scanned by the
// garbage collector, which is right for byte buffers: they hold no
// pointers.
func mapBuffer(size int) []byte {
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return nil
	}
	return b[:0]
}

// unmapBuffer returns a buffer from mapBuffer to the system. Touching it
// afterwards faults, which is what a use-after-Put bug should do rather
// than corrupt data.
func unmapBuffer(b []byte) {
	if err := syscall.Munmap(b[:cap(b)]); err != nil {
		// Munmap fails only for an address range that is not a mapping,
		// i.e. a bookkeeping bug here; carrying on would hide it.
		panic("bufpool: munmap: " + err.Error())
	}
}
