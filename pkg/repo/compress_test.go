package repo

import (
	"bytes"
	"crypto/rand"
	"os"
	"testing"
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
