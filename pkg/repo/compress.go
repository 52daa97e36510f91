package repo

import (
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// maxBlobSize bounds a blob's plaintext; larger data is refused on save and
// a stored raw length above it is treated as corruption on load.
const maxBlobSize = 64 << 20

var (
	zstdOnce  sync.Once
	zstdEnc   *zstd.Encoder
	zstdDec   *zstd.Decoder
	zstdError error
)

func codecs() error {
	zstdOnce.Do(func() {
		n := defaultParallelism()
		// The default level is what restic uses; EncodeAll on one encoder is
		// safe from many goroutines, n of them at a time.
		zstdEnc, zstdError = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault),
			zstd.WithEncoderConcurrency(n), zstd.WithLowerEncoderMem(true))
		if zstdError != nil {
			return
		}
		zstdDec, zstdError = zstd.NewReader(nil, zstd.WithDecoderConcurrency(n),
			zstd.WithDecoderMaxMemory(maxBlobSize), zstd.WithDecoderLowmem(true))
	})
	return zstdError
}

// sampleSize is how much of a large blob is test-compressed first.
const sampleSize = 64 << 10

// compress returns the zstd form of data, or nil when compressing does not
// pay (random, already-compressed or encrypted content). Large blobs are
// judged on a sample first so incompressible data costs little CPU.
func compress(data []byte) ([]byte, error) {
	if err := codecs(); err != nil {
		return nil, err
	}
	enc := zstdEnc
	if len(data) < 64 {
		return nil, nil
	}
	if len(data) > 2*sampleSize {
		s := enc.EncodeAll(data[:sampleSize], nil)
		if len(s) > sampleSize*95/100 {
			return nil, nil
		}
	}
	out := enc.EncodeAll(data, make([]byte, 0, len(data)/2))
	if len(out) >= len(data)*97/100 {
		return nil, nil
	}
	return out, nil
}

func decompress(data []byte, rawLen uint32) ([]byte, error) {
	if err := codecs(); err != nil {
		return nil, err
	}
	if rawLen > maxBlobSize {
		return nil, fmt.Errorf("raw length %d exceeds the %d-byte blob limit", rawLen, maxBlobSize)
	}
	out, err := zstdDec.DecodeAll(data, make([]byte, 0, rawLen))
	if err != nil {
		return nil, fmt.Errorf("zstd: %w", err)
	}
	if uint32(len(out)) != rawLen {
		return nil, fmt.Errorf("decompressed to %d bytes, index says %d", len(out), rawLen)
	}
	return out, nil
}
