package peakrss

import (
	"runtime/debug"
	"testing"
)

// TestResetForgetsAnEarlierPeak: memory touched and released before Reset
// does not count in the peak after it.
func TestResetForgetsAnEarlierPeak(t *testing.T) {
	before, err := Peak()
	if err != nil {
		t.Skipf("no VmHWM here: %v", err)
	}
	big := make([]byte, 256<<20)
	for i := 0; i < len(big); i += 4096 {
		big[i] = 1
	}
	high, err := Peak()
	if err != nil || high < before+200<<20 {
		t.Fatalf("peak %d after touching 256 MiB (before %d): %v", high, before, err)
	}
	big = nil
	debug.FreeOSMemory()
	if err := Reset(); err != nil {
		t.Skipf("clear_refs not writable here: %v", err)
	}
	after, err := Peak()
	if err != nil || after > high-200<<20 {
		t.Fatalf("peak %d after Reset, was %d: the released 256 MiB still count", after, high)
	}
}
