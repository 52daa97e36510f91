//go:build !unix

package bufpool

// mapBuffer returns nil where there is no mmap: every buffer then lives in
// the Go heap.
func mapBuffer(size int) []byte { return nil }

// unmapBuffer is never reached without mapBuffer.
func unmapBuffer(b []byte) {}
