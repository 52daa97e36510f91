//go:build race

package bufpool

// Under the race detector every buffer lives in the Go heap. The detector
// only watches memory the Go runtime allocated: with chunk and pack bytes
// in mmap'd memory, `go test -race` could not see two goroutines touching
// the same chunk. The pool's bookkeeping (mapped bases, reuse, InUse) is
// the same as with mmap, so what the tests exercise is the real pool.

// raceHeap tells tests which memory the build uses.
const raceHeap = true

// mapBuffer returns size bytes of Go heap.
func mapBuffer(size int) []byte { return make([]byte, 0, size) }

// unmapBuffer lets the collector have b. With mmap a use after Put faults;
// here the bytes are poisoned instead (see poison), so a reader after Put
// sees garbage that fails verification and the race detector reports the
// conflicting accesses.
func unmapBuffer(b []byte) { poison(b) }
