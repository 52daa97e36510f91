package fsblob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// recorder is osFS that logs each durability step, relative to root.
type recorder struct {
	osFS
	root string
	mu   sync.Mutex
	ops  []string
}

func (r *recorder) log(format string, args ...any) {
	r.mu.Lock()
	r.ops = append(r.ops, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *recorder) rel(p string) string {
	rel, _ := filepath.Rel(r.root, p)
	if strings.HasSuffix(rel, TempSuffix) {
		return "TMP"
	}
	return filepath.ToSlash(rel)
}

func (r *recorder) syncFile(f *os.File) error {
	r.log("fsync %s", r.rel(f.Name()))
	return r.osFS.syncFile(f)
}

func (r *recorder) syncDir(dir string) error {
	r.log("fsync dir %s", r.rel(dir))
	return r.osFS.syncDir(dir)
}

func (r *recorder) publish(tmp, final string, exclusive bool) error {
	r.log("publish %s -> %s exclusive=%v", r.rel(tmp), r.rel(final), exclusive)
	return r.osFS.publish(tmp, final, exclusive)
}

func newRecorded(t *testing.T) (*blob.Bucket, *recorder, string) {
	t.Helper()
	dir := t.TempDir()
	rec := &recorder{root: dir}
	b := blob.NewBucket(&bucket{root: dir, fs: rec})
	t.Cleanup(func() { b.Close() })
	return b, rec, dir
}

func write(ctx context.Context, b *blob.Bucket, key string, data []byte, once bool) error {
	w, err := b.NewWriter(ctx, key, &blob.WriterOptions{ContentType: "application/octet-stream", IfNotExist: once})
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	return w.Close()
}

// TestWriteIsDurable: issue 14 item 2. The bytes are fsynced before the
// name is given, the name is given atomically, and the directory that
// holds it (and every directory made for it) is fsynced after, so a crash
// leaves either nothing or the whole object under its name.
func TestWriteIsDurable(t *testing.T) {
	b, rec, _ := newRecorded(t)
	if err := write(context.Background(), b, "data/ab/pack", []byte("pack bytes"), true); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"fsync dir .", // data/ made
		"fsync dir data",
		"fsync TMP",
		"publish TMP -> data/ab/pack exclusive=true",
		"fsync dir data/ab",
	}
	if strings.Join(rec.ops, "\n") != strings.Join(want, "\n") {
		t.Fatalf("steps:\n%s\nwant:\n%s", strings.Join(rec.ops, "\n"), strings.Join(want, "\n"))
	}
	if got, err := b.ReadAll(context.Background(), "data/ab/pack"); err != nil || string(got) != "pack bytes" {
		t.Fatalf("read back %q, %v", got, err)
	}
}

// TestWriteOnceAcrossProcesses: writers with separate bucket handles (as
// separate processes, or machines on one NFS export, have) race to create
// one key. Exactly one wins; the others get FailedPrecondition and the
// object holds the winner's bytes, whole.
func TestWriteOnceAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		b, err := OpenBucket(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = write(context.Background(), b, "config", bytes.Repeat([]byte{byte('a' + i)}, 64<<10), true)
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("writers %d and %d both created the object", winner, i)
		case err == nil:
			winner = i
		case gcerrors.Code(err) != gcerrors.FailedPrecondition:
			t.Fatalf("writer %d: %v, want FailedPrecondition", i, err)
		}
	}
	got, err := os.ReadFile(filepath.Join(dir, "config"))
	if winner < 0 || err != nil || !bytes.Equal(got, bytes.Repeat([]byte{byte('a' + winner)}, 64<<10)) {
		t.Fatalf("winner %d, object %d bytes, %v", winner, len(got), err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*"+TempSuffix)); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

// TestCancelledWritePublishesNothing: cancelling is how a write is
// aborted; nothing may appear under the key and no temporary file stays.
func TestCancelledWritePublishesNothing(t *testing.T) {
	b, _, dir := newRecorded(t)
	ctx, cancel := context.WithCancel(context.Background())
	w, err := b.NewWriter(ctx, "index/x", &blob.WriterOptions{ContentType: "application/octet-stream"})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("half an obj"))
	cancel()
	if err := w.Close(); err == nil {
		t.Fatal("Close of a cancelled write succeeded")
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "index"))
	if len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
}

// TestListInKeyOrderAcrossPages: keys come in byte order, also where a
// file's name sorts between a directory's name and its contents ("a.b"
// before "a/x"), prefixes narrow the walk, and small pages join up.
func TestListInKeyOrderAcrossPages(t *testing.T) {
	b, _, _ := newRecorded(t)
	ctx := context.Background()
	keys := []string{"a.b", "a/x", "a/y/z", "a0", "b", "data/00/p1", "data/00/p1.1234.tmp", "data/ff/p2", "keys/k"}
	for _, k := range keys {
		if err := write(ctx, b, k, []byte(k), false); err != nil {
			t.Fatal(err)
		}
	}
	list := func(prefix string) []string {
		var out []string
		token := blob.FirstPageToken
		for {
			page, next, err := b.ListPage(ctx, token, 2, &blob.ListOptions{Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range page {
				out = append(out, o.Key)
			}
			if len(next) == 0 {
				return out
			}
			token = next
		}
	}
	if got := list(""); strings.Join(got, " ") != strings.Join(keys, " ") {
		t.Fatalf("list = %v\nwant %v", got, keys)
	}
	if got := list("data/"); strings.Join(got, " ") != "data/00/p1 data/00/p1.1234.tmp data/ff/p2" {
		t.Fatalf("list data/ = %v", got)
	}
	if got := list("a"); strings.Join(got, " ") != "a.b a/x a/y/z a0" {
		t.Fatalf("list a = %v", got)
	}
	if got := list("nothing/"); len(got) != 0 {
		t.Fatalf("list of an absent prefix = %v", got)
	}
}

// TestKeysStayInsideTheRoot: a key cannot name a file outside the
// repository directory.
func TestKeysStayInsideTheRoot(t *testing.T) {
	b, _, _ := newRecorded(t)
	for _, k := range []string{"../escape", "a/../../escape", "/abs", "a//b", "a/./b", "dir/"} {
		err := write(context.Background(), b, k, []byte("x"), true)
		if gcerrors.Code(err) != gcerrors.InvalidArgument && !errors.Is(err, os.ErrInvalid) {
			t.Errorf("key %q: %v, want InvalidArgument", k, err)
		}
	}
}

// TestPublishOwnLinkReportedAsConflict: NFSv3 can answer a retransmitted
// LINK that already succeeded with EEXIST; the writer must see its own
// object (same inode) as published, not as someone else's, or init would
// take its own config for a rival's and remove its key.
func TestPublishOwnLinkReportedAsConflict(t *testing.T) {
	dir := t.TempDir()
	tmp, final := filepath.Join(dir, "config.1"+TempSuffix), filepath.Join(dir, "config")
	if err := os.WriteFile(tmp, []byte("ours"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(tmp, final); err != nil { // the first, answered-late LINK
		t.Fatal(err)
	}
	if err := (osFS{}).publish(tmp, final, true); err != nil {
		t.Fatalf("publishing an object already linked by this write: %v", err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary file left: %v", err)
	}
	other := filepath.Join(dir, "other"+TempSuffix)
	os.WriteFile(other, []byte("theirs"), 0o600)
	if err := (osFS{}).publish(other, final, true); !errors.Is(err, os.ErrExist) {
		t.Fatalf("publishing over another writer's object: %v, want ErrExist", err)
	}
}

// TestDirsMakeAheadOfWrites: directories made ahead (a repository's pack
// directories at init) are durable when Make returns, each parent fsynced
// once however many directories it gained, and a write into one of them
// then neither makes a directory nor fsyncs a parent on its way.
func TestDirsMakeAheadOfWrites(t *testing.T) {
	b, rec, dir := newRecorded(t)
	var d Dirs
	if !b.As(&d) {
		t.Fatal("As(*Dirs) = false")
	}
	if err := d.Make([]string{"data/00/", "data/01/", "data/ff/"}); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"00", "01", "ff"} {
		if st, err := os.Stat(filepath.Join(dir, "data", sub)); err != nil || !st.IsDir() {
			t.Fatalf("data/%s: %v", sub, err)
		}
	}
	want := []string{"fsync dir .", "fsync dir data"}
	if strings.Join(rec.ops, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Make's steps:\n%s\nwant:\n%s", strings.Join(rec.ops, "\n"), strings.Join(want, "\n"))
	}
	// Making them again (a second init attempt) changes nothing.
	rec.ops = nil
	if err := d.Make([]string{"data/00/"}); err != nil || len(rec.ops) != 0 {
		t.Fatalf("second Make: %v, steps %q", err, rec.ops)
	}
	if err := write(context.Background(), b, "data/01/pack", []byte("pack bytes"), true); err != nil {
		t.Fatal(err)
	}
	want = []string{"fsync TMP", "publish TMP -> data/01/pack exclusive=true", "fsync dir data/01"}
	if strings.Join(rec.ops, "\n") != strings.Join(want, "\n") {
		t.Fatalf("write's steps:\n%s\nwant:\n%s", strings.Join(rec.ops, "\n"), strings.Join(want, "\n"))
	}
	if err := d.Make([]string{"../outside/"}); err == nil {
		t.Fatal("Make accepted a prefix outside the bucket")
	}
}
