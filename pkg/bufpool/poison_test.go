package bufpool

import (
	"strings"
	"testing"
)

// withPoisoning turns poisoning on for one test.
func withPoisoning(t *testing.T) {
	was := poisoning
	poisoning = true
	t.Cleanup(func() { poisoning = was })
}

// TestPutPoisonsTheBuffer: a slice kept past Put reads PoisonByte, not the
// stale data it held (issue 14 item 6), for kept heap buffers and for
// large ones alike.
func TestPutPoisonsTheBuffer(t *testing.T) {
	withPoisoning(t)
	var p Pool
	for _, n := range []int{8 << 10, 1 << 20} {
		b := p.Get(n)[:n]
		for i := range b {
			b[i] = byte(i)
		}
		stale := b
		p.Put(b)
		if p.Idle() == 0 {
			t.Fatalf("%d bytes: not kept, nothing to check", n)
		}
		for i, c := range stale {
			if c != PoisonByte {
				t.Fatalf("%d bytes: byte %d reads %#x after Put, want the poison %#x", n, i, c, PoisonByte)
			}
		}
		p.Put(p.Get(n)) // taken again intact: no panic
	}
}

// TestWriteAfterPutIsCaught: writing through a slice kept past Put is
// found when the buffer is lent again.
func TestWriteAfterPutIsCaught(t *testing.T) {
	withPoisoning(t)
	var p Pool
	b := p.Get(16 << 10)
	p.Put(b)
	b[:100][42] = 1 // the bug
	defer func() {
		msg, _ := recover().(string)
		if !strings.Contains(msg, "written after it was given back") || !strings.Contains(msg, "at byte 42") {
			t.Fatalf("Get after a write past Put: panic %q, want one naming byte 42", msg)
		}
	}()
	p.Get(16 << 10)
	t.Fatal("Get lent a buffer written after Put")
}
