package fsutil

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestRawFileReads(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	want := bytes.Repeat([]byte("0123456789"), 10000)
	if err := os.WriteFile(p, want, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := OpenRaw(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("ReadAll: %d bytes, %v", len(got), err)
	}
	buf := make([]byte, 10)
	if n, err := f.ReadAt(buf, 99995); n != 5 || !errors.Is(err, io.EOF) || string(buf[:5]) != "56789" {
		t.Fatalf("ReadAt at the end: %d %v %q", n, err, buf[:n])
	}
	var st syscall.Stat_t
	if err := f.Stat(&st); err != nil || st.Size != int64(len(want)) {
		t.Fatalf("Stat: %v size %d", err, st.Size)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestRawFileOpenErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := OpenRaw(filepath.Join(dir, "missing"))
	var pe *os.PathError
	if !errors.As(err, &pe) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	link := filepath.Join(dir, "link")
	os.Symlink("missing", link)
	if _, err := OpenRaw(link); !errors.Is(err, syscall.ELOOP) {
		t.Fatalf("symlink was followed or gave %v, want ELOOP", err)
	}
	// A FIFO (a file replaced by one after it was listed) must not hang
	// the open waiting for a writer.
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		f, err := OpenRaw(fifo)
		if err == nil {
			f.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("open FIFO: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("opening a FIFO blocked")
	}
}

func TestCreateRawWritesAndRefusesSymlinks(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "new")
	f, err := CreateRaw(p, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("world"), 6); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("hello "), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, _ := os.ReadFile(p)
	if string(got) != "hello world"+string(make([]byte, 9)) {
		t.Fatalf("file holds %q", got)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o640&^umask() {
		t.Fatalf("mode %v", fi.Mode())
	}
	// A symlink planted where the file goes is not written through.
	outside := filepath.Join(dir, "outside")
	os.WriteFile(outside, []byte("keep"), 0o600)
	link := filepath.Join(dir, "link")
	os.Symlink(outside, link)
	if _, err := CreateRaw(link, 0o600); !errors.Is(err, syscall.ELOOP) {
		t.Fatalf("CreateRaw through a symlink: %v, want ELOOP", err)
	}
	if b, _ := os.ReadFile(outside); string(b) != "keep" {
		t.Fatal("the symlink's target was touched")
	}
}

func umask() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}
