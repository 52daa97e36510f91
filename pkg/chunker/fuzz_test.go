package chunker

import (
	"bytes"
	"io"
	"testing"
)

// FuzzCut checks the chunking invariants on arbitrary input: chunks cover the
// input exactly, respect the bounds, and do not depend on how the input is
// split into reads.
func FuzzCut(f *testing.F) {
	f.Add([]byte("hello world"), uint16(7))
	f.Add(bytes.Repeat([]byte{0}, 5000), uint16(100))
	f.Add(randomBytes(20000, 9), uint16(1))
	p := Params{Min: 64, Avg: 256, Max: 1024}
	c := mustNew(f, testSeed, p)
	f.Fuzz(func(t *testing.T, data []byte, step uint16) {
		var whole [][]byte
		rest := data
		for len(rest) > 0 {
			n := c.Cut(rest, true)
			if n <= 0 || n > len(rest) || n > p.Max || (n < p.Min && n != len(rest)) {
				t.Fatalf("bad cut %d of %d", n, len(rest))
			}
			whole = append(whole, rest[:n])
			rest = rest[n:]
		}
		if !bytes.Equal(bytes.Join(whole, nil), data) {
			t.Fatal("chunks do not reassemble")
		}
		r := &stepReader{data: data, step: int(step%500) + 1}
		streamed := chunkAll(t, c, r)
		if len(streamed) != len(whole) {
			t.Fatalf("streamed %d chunks, whole %d", len(streamed), len(whole))
		}
		for i := range whole {
			if !bytes.Equal(streamed[i], whole[i]) {
				t.Fatalf("chunk %d differs between streamed and whole input", i)
			}
		}
	})
}

type stepReader struct {
	data []byte
	step int
}

func (s *stepReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), s.step, len(s.data))
	copy(p, s.data[:n])
	s.data = s.data[n:]
	return n, nil
}
