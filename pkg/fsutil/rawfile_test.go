package fsutil

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
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

func TestReadDirNamesListsWithoutFollowingSymlinks(t *testing.T) {
	dir := t.TempDir()
	var want []string
	for i := range 600 { // more than one getdents buffer's worth of long names
		name := fmt.Sprintf("entry-with-a-rather-long-name-to-fill-the-buffer-%04d", i)
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		want = append(want, name)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	want = append(want, "sub")
	got, err := ReadDirNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("listed %d names, want %d (first %q)", len(got), len(want), got[:min(3, len(got))])
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadDirNames(link); !errors.Is(err, syscall.ELOOP) && !errors.Is(err, syscall.ENOTDIR) {
		t.Fatalf("listing a symlink to a directory: %v, want ELOOP or ENOTDIR", err)
	}
	var pe *os.PathError
	if _, err := ReadDirNames(filepath.Join(dir, "missing")); !errors.As(err, &pe) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("listing a missing directory: %v, want a *os.PathError for a missing file", err)
	}
	if _, err := ReadDirNames(filepath.Join(dir, want[0])); !errors.Is(err, syscall.ENOTDIR) {
		t.Fatalf("listing a file: %v, want ENOTDIR", err)
	}
}
