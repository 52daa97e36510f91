package backend_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

// conformance exercises every Backend operation against one store.
func conformance(t *testing.T, be *backend.Backend) {
	t.Helper()
	ctx := context.Background()
	data := bytes.Repeat([]byte("0123456789"), 1000)
	if err := be.Put(ctx, "data/ab/obj1", data); err != nil {
		t.Fatal(err)
	}
	if err := be.Put(ctx, "data/ab/obj1", []byte("other")); !errors.Is(err, backend.ErrExists) {
		t.Fatalf("second Put: %v, want ErrExists (objects are write-once)", err)
	}
	got, err := be.Get(ctx, "data/ab/obj1")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get: %v (equal=%v)", err, bytes.Equal(got, data))
	}
	part, err := be.GetRange(ctx, "data/ab/obj1", 15, 10)
	if err != nil || string(part) != "5678901234" {
		t.Fatalf("GetRange: %q %v", part, err)
	}
	if _, err := be.GetRange(ctx, "data/ab/obj1", int64(len(data))-5, 10); err == nil {
		t.Fatal("GetRange past the end returned short data without error")
	}
	if size, err := be.Size(ctx, "data/ab/obj1"); err != nil || size != int64(len(data)) {
		t.Fatalf("Size: %d %v", size, err)
	}
	if err := be.Put(ctx, "index/x", []byte("x")); err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := be.List(ctx, "data/", func(o backend.Object) error { keys = append(keys, o.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != "data/ab/obj1" {
		t.Fatalf("List(data/) = %v", keys)
	}
	w, err := be.NewStreamWriter(ctx, "data/cd/streamed")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("part1-"))
	w.Write([]byte("part2"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := be.Get(ctx, "data/cd/streamed"); string(got) != "part1-part2" {
		t.Fatalf("streamed object = %q", got)
	}
	if _, err := be.Get(ctx, "missing"); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("Get missing: %v, want ErrNotFound", err)
	}
	if err := be.Delete(ctx, "data/ab/obj1"); err != nil {
		t.Fatal(err)
	}
	if err := be.Delete(ctx, "data/ab/obj1"); err != nil {
		t.Fatalf("deleting a deleted object must succeed (prune reruns): %v", err)
	}
	if _, err := be.Size(ctx, "data/ab/obj1"); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("Size after delete: %v", err)
	}
}

func TestFileBackend(t *testing.T) {
	dir := t.TempDir() + "/repo"
	be, err := backend.Open(context.Background(), "file://"+dir, backend.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	conformance(t, be)
	// No sidecar metadata or temporary files are left behind.
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && (strings.HasSuffix(p, ".attrs") || strings.HasSuffix(p, ".tmp")) {
			t.Errorf("stray file %s", p)
		}
		return nil
	})
}

func TestMemBackend(t *testing.T) {
	be, err := backend.Open(context.Background(), "mem://", backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	conformance(t, be)
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct{ url, want string }{
		{"not a url", "invalid repository URL"},
		{"nosuch://bucket", "open"},
		{"file://" + t.TempDir() + "/missing", "does not exist"},
	} {
		_, err := backend.Open(ctx, c.url, backend.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%q) = %v, want an error containing %q", c.url, err, c.want)
		}
	}
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o600)
	if _, err := backend.Open(ctx, "file://"+f, backend.Options{}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Open(file) = %v", err)
	}
	if os.Geteuid() != 0 { // root ignores permissions
		ro := t.TempDir()
		os.Chmod(ro, 0o500)
		be, err := backend.Open(ctx, "file://"+ro, backend.Options{})
		if err == nil {
			if err := be.Put(ctx, "x", []byte("x")); !errors.Is(err, backend.ErrPermission) {
				t.Errorf("Put into read-only dir: %v, want ErrPermission", err)
			}
		}
	}
}

func TestRedact(t *testing.T) {
	got := backend.Redact("s3://user:pass@bucket/p?endpoint=http://x&secret_key=abc&region=r")
	if strings.Contains(got, "pass") || strings.Contains(got, "abc") || !strings.Contains(got, "region=r") {
		t.Fatalf("Redact = %s", got)
	}
}

const limitChildEnv = "CAIRN_TEST_FSIZE_CHILD_DIR"

// underFileSizeLimit runs write in a child process (this test binary, rerun
// for the calling test only) whose file-size limit is 64 KiB, so writing
// more fails like on a full disk, and then returns a handle on the same
// directory, opened in the parent without the limit. In the child it runs
// write and exits the test; the parent reports the child's failures.
func underFileSizeLimit(t *testing.T, write func(ctx context.Context, be *backend.Backend) error) *backend.Backend {
	t.Helper()
	ctx := context.Background()
	if dir := os.Getenv(limitChildEnv); dir != "" {
		lim := syscall.Rlimit{Cur: 64 << 10, Max: 64 << 10}
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
			t.Fatal(err)
		}
		be, err := backend.Open(ctx, "file://"+dir, backend.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := write(ctx, be); err == nil {
			t.Fatal("the write succeeded although its bytes could not be stored")
		} else {
			t.Logf("write failed as it must: %v", err)
		}
		t.SkipNow()
	}
	dir := t.TempDir()
	if _, err := backend.Open(ctx, "file://"+dir, backend.Options{Create: true}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.v", "-test.run=^"+t.Name()+"$")
	cmd.Env = append(os.Environ(), limitChildEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	be, err := backend.Open(ctx, "file://"+dir, backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	return be
}

// TestStreamWriterNeverCommitsATruncatedObject: the last bytes of a
// stream sit in its buffer until Close. If writing them fails (here: a
// file-size limit, as on a full disk), Close must fail and nothing may
// appear under the key; committing would publish a truncated pack.
func TestStreamWriterNeverCommitsATruncatedObject(t *testing.T) {
	be := underFileSizeLimit(t, func(ctx context.Context, be *backend.Backend) error {
		w, err := be.NewStreamWriter(ctx, "data/ab/truncated")
		if err != nil {
			return err
		}
		if err := w.Write(make([]byte, 200<<10)); err != nil {
			return fmt.Errorf("a buffered write failed early: %w", err)
		}
		return w.Close()
	})
	if _, err := be.Size(context.Background(), "data/ab/truncated"); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("a truncated object is visible (Size: %v)", err)
	}
}

// TestPutNeverCommitsAPartialObject: Put is how config, keys, index files,
// snapshots, plans and in-memory packs are written. A Write that fails
// part-way must abort the object, not close (and so commit) the part
// written: issue 14 item 1 found 0-byte packs under their final names.
func TestPutNeverCommitsAPartialObject(t *testing.T) {
	be := underFileSizeLimit(t, func(ctx context.Context, be *backend.Backend) error {
		return be.Put(ctx, "data/ab/partial", make([]byte, 200<<10))
	})
	ctx := context.Background()
	if size, err := be.Size(ctx, "data/ab/partial"); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("a partial object is visible: Size = %d, %v", size, err)
	}
	var left []string
	be.ListTemporary(ctx, "", func(o backend.Object) error { left = append(left, o.Key); return nil })
	if len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
}
