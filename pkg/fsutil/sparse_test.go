package fsutil

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestHolesAndDataReader(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sparse")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a := bytes.Repeat([]byte("a"), 8192)
	b := bytes.Repeat([]byte("b"), 4096)
	f.WriteAt(a, 0)
	f.WriteAt(b, 4<<20)
	size := int64(16 << 20)
	f.Truncate(size)
	holes, err := Holes(f, size)
	if err != nil {
		t.Fatal(err)
	}
	if len(holes) == 0 {
		t.Skip("file system reports no holes")
	}
	if holes[len(holes)-1].Offset+holes[len(holes)-1].Length != size {
		t.Fatalf("trailing hole missing: %v", holes)
	}
	data, err := io.ReadAll(NewDataReader(f, size, holes))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, append(append([]byte{}, a...), b...)) {
		t.Fatalf("data stream is %d bytes, want the %d bytes written", len(data), len(a)+len(b))
	}
	var total int64
	for _, e := range DataExtents(holes, size) {
		total += e.Length
	}
	if total != int64(len(data)) {
		t.Fatalf("data extents cover %d bytes, stream has %d", total, len(data))
	}
}

func TestLUtimesOnSymlink(t *testing.T) {
	dir := t.TempDir()
	l := filepath.Join(dir, "l")
	os.Symlink("/nowhere", l)
	when := time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC)
	if err := LUtimes(l, when); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(l)
	if err != nil || !fi.ModTime().Equal(when) {
		t.Fatalf("symlink mtime %v, want %v (%v)", fi.ModTime(), when, err)
	}
}
