package chunker

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
	"unsafe"
)

var testSeed = []byte("0123456789abcdef-test-seed")

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// countingBuffers is a Buffers that checks every buffer lent comes back
// exactly once and records the largest capacity asked for.
type countingBuffers struct {
	out     map[*byte]bool
	maxWant int
}

func newCountingBuffers() *countingBuffers { return &countingBuffers{out: map[*byte]bool{}} }

func (b *countingBuffers) Get(n int) []byte {
	b.maxWant = max(b.maxWant, n)
	buf := make([]byte, 0, n)
	b.out[unsafe.SliceData(buf)] = true
	return buf
}

func (b *countingBuffers) Put(buf []byte) {
	p := unsafe.SliceData(buf)
	if !b.out[p] {
		panic("Put of a buffer that was not lent, or twice")
	}
	delete(b.out, p)
}

// splitAll chunks r with size hint size, gives every chunk back, and
// checks no buffer is left lent.
func splitAll(t testing.TB, c *Chunker, r io.Reader, size int64) ([][]byte, *countingBuffers) {
	t.Helper()
	bufs := newCountingBuffers()
	sp := c.NewSplitter(r, size, bufs)
	var out [][]byte
	for {
		b, err := sp.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, bytes.Clone(b))
		bufs.Put(b)
	}
	if len(bufs.out) != 0 {
		t.Fatalf("%d buffers not given back", len(bufs.out))
	}
	return out, bufs
}

func chunkAll(t testing.TB, c *Chunker, r io.Reader) [][]byte {
	t.Helper()
	out, _ := splitAll(t, c, r, -1)
	return out
}

func mustNew(t testing.TB, seed []byte, p Params) *Chunker {
	t.Helper()
	c, err := New(seed, p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestChunksReassembleAndRespectBounds(t *testing.T) {
	c := mustNew(t, testSeed, DefaultParams)
	data := randomBytes(64<<20, 1)
	chunks := chunkAll(t, c, bytes.NewReader(data))
	if got := bytes.Join(chunks, nil); !bytes.Equal(got, data) {
		t.Fatal("chunks do not reassemble to the input")
	}
	for i, ch := range chunks {
		if len(ch) > DefaultParams.Max {
			t.Errorf("chunk %d is %d bytes, above max %d", i, len(ch), DefaultParams.Max)
		}
		if i < len(chunks)-1 && len(ch) < DefaultParams.Min {
			t.Errorf("chunk %d is %d bytes, below min %d", i, len(ch), DefaultParams.Min)
		}
	}
	mean := len(data) / len(chunks)
	if mean < 700<<10 || mean > 1600<<10 {
		t.Errorf("mean chunk size %d is far from the ~1 MiB target (%d chunks)", mean, len(chunks))
	}
	t.Logf("%d chunks, mean %d bytes", len(chunks), mean)
}

func TestBoundariesIndependentOfReadSizes(t *testing.T) {
	c := mustNew(t, testSeed, Params{Min: 2 << 10, Avg: 8 << 10, Max: 32 << 10})
	data := randomBytes(2<<20, 2)
	want := chunkAll(t, c, bytes.NewReader(data))
	for _, r := range []io.Reader{
		iotest.OneByteReader(bytes.NewReader(data)),
		iotest.HalfReader(bytes.NewReader(data)),
		iotest.DataErrReader(bytes.NewReader(data)),
	} {
		got := chunkAll(t, c, r)
		if len(got) != len(want) {
			t.Fatalf("got %d chunks, want %d", len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("chunk %d differs", i)
			}
		}
	}
}

func TestInsertionOnlyChangesNearbyChunks(t *testing.T) {
	p := Params{Min: 2 << 10, Avg: 8 << 10, Max: 64 << 10}
	c := mustNew(t, testSeed, p)
	data := randomBytes(4<<20, 3)
	edited := append(append(append([]byte{}, data[:1<<20]...), []byte("inserted text")...), data[1<<20:]...)
	a := chunkAll(t, c, bytes.NewReader(data))
	b := chunkAll(t, c, bytes.NewReader(edited))
	seen := map[string]bool{}
	for _, ch := range a {
		seen[string(ch)] = true
	}
	shared := 0
	for _, ch := range b {
		if seen[string(ch)] {
			shared++
		}
	}
	if shared < len(b)-4 {
		t.Fatalf("only %d of %d chunks shared after a small insertion", shared, len(b))
	}
}

func TestSeedChangesBoundaries(t *testing.T) {
	p := Params{Min: 2 << 10, Avg: 8 << 10, Max: 64 << 10}
	data := randomBytes(1<<20, 4)
	a := chunkAll(t, mustNew(t, testSeed, p), bytes.NewReader(data))
	b := chunkAll(t, mustNew(t, []byte("another-secret-seed-value"), p), bytes.NewReader(data))
	same := 0
	for i := 0; i < len(a) && i < len(b); i++ {
		if len(a[i]) == len(b[i]) {
			same++
		}
	}
	if same > len(a)/4 {
		t.Fatalf("%d of %d chunk lengths equal under different seeds", same, len(a))
	}
}

func TestZeroDataCutsAtMax(t *testing.T) {
	p := Params{Min: 1 << 10, Avg: 4 << 10, Max: 16 << 10}
	c := mustNew(t, testSeed, p)
	chunks := chunkAll(t, c, bytes.NewReader(make([]byte, 100<<10)))
	for i, ch := range chunks[:len(chunks)-1] {
		if len(ch) != p.Max {
			t.Fatalf("zero chunk %d is %d bytes; a constant stream should cut at max", i, len(ch))
		}
	}
}

func TestEmptyAndTinyStreams(t *testing.T) {
	c := mustNew(t, testSeed, DefaultParams)
	if got := chunkAll(t, c, bytes.NewReader(nil)); len(got) != 0 {
		t.Fatalf("empty stream gave %d chunks", len(got))
	}
	got := chunkAll(t, c, bytes.NewReader([]byte("x")))
	if len(got) != 1 || string(got[0]) != "x" {
		t.Fatalf("one-byte stream gave %q", got)
	}
}

func TestReadErrorIsReturned(t *testing.T) {
	c := mustNew(t, testSeed, Params{Min: 1 << 10, Avg: 4 << 10, Max: 16 << 10})
	boom := errors.New("disk on fire")
	bufs := newCountingBuffers()
	rd := c.NewSplitter(io.MultiReader(bytes.NewReader(randomBytes(50<<10, 5)), iotest.ErrReader(boom)), -1, bufs)
	total := 0
	for {
		b, err := rd.Next()
		if err != nil {
			if !errors.Is(err, boom) {
				t.Fatalf("got %v, want the read error", err)
			}
			break
		}
		total += len(b)
		bufs.Put(b)
	}
	if len(bufs.out) != 0 {
		t.Fatalf("%d buffers not given back after the error", len(bufs.out))
	}
	if total != 50<<10 {
		t.Fatalf("got %d bytes before the error, want %d", total, 50<<10)
	}
}

func TestBadParamsAndSeed(t *testing.T) {
	if _, err := New([]byte("short"), DefaultParams); err == nil {
		t.Fatal("short seed accepted")
	}
	for _, p := range []Params{
		{Min: 0, Avg: 1024, Max: 4096},
		{Min: 512, Avg: 1000, Max: 4096},
		{Min: 2048, Avg: 1024, Max: 4096},
		{Min: 512, Avg: 1024, Max: 1024},
		{Min: 8, Avg: 32, Max: 64},
	} {
		if _, err := New(testSeed, p); err == nil {
			t.Errorf("params %+v accepted", p)
		}
	}
}

func BenchmarkCut(b *testing.B) {
	c := mustNew(b, testSeed, DefaultParams)
	data := randomBytes(64<<20, 6)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rest := data
		for len(rest) > 0 {
			n := c.Cut(rest, true)
			rest = rest[n:]
		}
	}
}

// TestSizeHintOnlySizesBuffers: a wrong size hint (a file that grew or
// shrank since stat) changes buffer sizes, never the chunks; a right hint
// for a small file asks for a buffer just one byte larger than the file.
func TestSizeHintOnlySizesBuffers(t *testing.T) {
	p := Params{Min: 1 << 10, Avg: 4 << 10, Max: 16 << 10}
	c := mustNew(t, testSeed, p)
	for _, data := range [][]byte{make([]byte, 100<<10), randomBytes(100<<10, 8), randomBytes(3000, 9)} {
		want := chunkAll(t, c, bytes.NewReader(data))
		for _, hint := range []int64{0, 10, int64(len(data)), int64(len(data)) * 3} {
			got, _ := splitAll(t, c, bytes.NewReader(data), hint)
			if len(got) != len(want) {
				t.Fatalf("hint %d: %d chunks, want %d", hint, len(got), len(want))
			}
			for i := range got {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("hint %d: chunk %d differs", hint, i)
				}
			}
		}
	}
	_, bufs := splitAll(t, c, bytes.NewReader(randomBytes(3000, 9)), 3000)
	if bufs.maxWant != 3001 {
		t.Fatalf("small stream asked for a %d-byte buffer, want 3001", bufs.maxWant)
	}
	_, bufs = splitAll(t, c, bytes.NewReader(make([]byte, 100<<10)), -1)
	if bufs.maxWant > p.Max {
		t.Fatalf("asked for %d bytes, more than Max", bufs.maxWant)
	}
}

// TestZeroReadsDoNotSpin: a reader that returns nothing forever gets an
// error instead of hanging the backup.
func TestZeroReadsDoNotSpin(t *testing.T) {
	c := mustNew(t, testSeed, Params{Min: 1 << 10, Avg: 4 << 10, Max: 16 << 10})
	sp := c.NewSplitter(zeroReader{}, -1, newCountingBuffers())
	if _, err := sp.Next(); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("got %v, want io.ErrNoProgress", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }
