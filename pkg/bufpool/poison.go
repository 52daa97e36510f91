package bufpool

import (
	"bytes"
	"os"
	"strconv"
)

// PoisonByte fills every byte of a buffer given back while poisoning is on.
const PoisonByte = 0xDB

// poisoning makes Put (and the release of a region) overwrite the whole
// buffer with PoisonByte, and Get check that an idle buffer still holds
// only PoisonByte before lending it again: a reader that kept a slice past
// Put then reads garbage that fails the blob's verification instead of
// plausible stale data, and a writer after Put is caught (Get panics
// naming the class). It is on under the race detector (make test-race) and
// when CAIRN_BUFPOOL_DEBUG=poison is set; it costs a pass over every
// buffer, so it is off otherwise.
var poisoning = raceHeap || os.Getenv("CAIRN_BUFPOOL_DEBUG") == "poison"

// poisonBlock is PoisonByte repeated: buffers are filled and checked a
// block at a time with copy and bytes.Equal, which the race detector
// instruments once per call rather than once per byte.
var poisonBlock = bytes.Repeat([]byte{PoisonByte}, 64<<10)

// poison overwrites b's whole capacity when poisoning is on.
func poison(b []byte) {
	if !poisoning {
		return
	}
	for rest := b[:cap(b)]; len(rest) > 0; {
		rest = rest[copy(rest, poisonBlock):]
	}
}

// checkPoison panics if an idle buffer was written after it was given back.
func checkPoison(b []byte) {
	if !poisoning {
		return
	}
	full := b[:cap(b)]
	for off := 0; off < len(full); off += len(poisonBlock) {
		part := full[off:min(off+len(poisonBlock), len(full))]
		if bytes.Equal(part, poisonBlock[:len(part)]) {
			continue
		}
		for i, c := range part {
			if c != PoisonByte {
				panic("bufpool: a buffer of " + strconv.Itoa(cap(b)) + " bytes was written after it was given back (Put), at byte " + strconv.Itoa(off+i))
			}
		}
	}
}
