//go:build !unix && !race

package bufpool

// raceHeap is false: large buffers are mapped outside the heap (see
// mem_race.go for race builds).
const raceHeap = false

// mapBuffer returns nil where there is no mmap: every buffer then lives in
// the Go heap.
func mapBuffer(size int) []byte { return nil }

// unmapBuffer is never reached without mapBuffer.
func unmapBuffer(b []byte) {}
