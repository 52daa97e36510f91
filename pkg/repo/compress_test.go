package repo

import (
	"bytes"
	"crypto/rand"
	"os"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo/crypto"
)

func TestCompressSkipsRandomKeepsText(t *testing.T) {
	random := make([]byte, 1<<20)
	rand.Read(random)
	if z, ok, err := compress(nil, random); err != nil || ok || len(z) != 0 {
		t.Fatalf("random data compressed (%d bytes, %v)", len(z), err)
	}
	text := bytes.Repeat([]byte("func main() { fmt.Println(\"hello, world\") }\n"), 30000)
	z, ok, err := compress([]byte("head"), text)
	if err != nil || !ok || string(z[:4]) != "head" || len(z) > len(text)/20 {
		t.Fatalf("text not compressed well: %d of %d bytes (%v)", len(z), len(text), err)
	}
	z = z[4:]
	back, err := decompressTo(nil, z, uint32(len(text)))
	if err != nil || !bytes.Equal(back, text) {
		t.Fatalf("round trip: %v", err)
	}
	if exe, err := os.ReadFile("/proc/self/exe"); err == nil && len(exe) > 1<<20 {
		if looksRandom(exe[:1<<20]) {
			t.Fatal("an executable was judged random")
		}
	}
	if _, err := decompressTo(nil, z, uint32(len(text)+1)); err == nil {
		t.Fatal("wrong raw length accepted")
	}
}

func TestSealSize(t *testing.T) {
	for _, c := range []struct{ len, cap, want int }{
		{1000, 1000, 1000 + crypto.Overhead},
		{1000, 4096, 4096},                      // a chunk buffer: its own class
		{1000, 1 << 20, 1000 + crypto.Overhead}, // a far larger caller slice
		{1 << 20, 3 << 19, 3 << 19},
	} {
		if got := sealSize(make([]byte, c.len, c.cap)); got != c.want {
			t.Errorf("sealSize(len %d cap %d) = %d, want %d", c.len, c.cap, got, c.want)
		}
	}
}
