package archiver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/pkg/chunker"
	"github.com/cairnbackup/cairn/pkg/fsfilter"
	"github.com/cairnbackup/cairn/pkg/fsfixture"
	"github.com/cairnbackup/cairn/pkg/progress"
	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/ident"
	"github.com/cairnbackup/cairn/pkg/repo/repotest"
	"github.com/cairnbackup/cairn/pkg/repo/tree"
)

func newRepo(t *testing.T) *repo.Repository {
	t.Helper()
	r, _ := repotest.Init(t)
	return r
}

func backup(t *testing.T, r *repo.Repository, opts Options, parent *repo.Snapshot) (*repo.Snapshot, Stats) {
	t.Helper()
	sn, st, err := Backup(context.Background(), r, opts, SnapshotOptions{Parent: parent})
	if err != nil {
		t.Fatal(err)
	}
	return sn, st
}

// names lists a snapshot's paths below root, for assertions.
func names(t *testing.T, r *repo.Repository, root ident.ID, dir string) []string {
	t.Helper()
	var out []string
	rd := tree.NewReader(r, root)
	for {
		n, err := rd.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		p := dir + "/" + n.Name
		out = append(out, p)
		if n.Type == tree.Dir {
			out = append(out, names(t, r, n.Subtree, p)...)
		}
	}
}

// subtreeAt returns the subtree ID of the directory at absolute path p.
func subtreeAt(t *testing.T, r *repo.Repository, root ident.ID, p string) ident.ID {
	t.Helper()
	cur := root
	for _, el := range strings.Split(strings.Trim(p, "/"), "/") {
		nodes, err := tree.ReadAll(context.Background(), r, cur)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, n := range nodes {
			if n.Name == el {
				cur, found = n.Subtree, true
			}
		}
		if !found {
			t.Fatalf("%s not in the snapshot", p)
		}
	}
	return cur
}

func TestIncrementalReusesUnchangedFiles(t *testing.T) {
	r := newRepo(t)
	src := filepath.Join(t.TempDir(), "src")
	if err := fsfixture.Build(src, 3<<20); err != nil {
		t.Fatal(err)
	}
	s1, st1 := backup(t, r, Options{Paths: []string{src}}, nil)
	if st1.FilesRead == 0 || st1.FilesChanged != 0 || st1.FilesUnchanged != 0 || st1.BlobsNew == 0 {
		t.Fatalf("first backup %+v", st1)
	}
	s2, st2 := backup(t, r, Options{Paths: []string{src}}, s1)
	if st2.FilesRead != 0 || st2.FilesUnchanged != st1.FilesRead || st2.BytesRead != 0 {
		t.Fatalf("unchanged backup read files: %+v", st2)
	}
	// The ancestors of src (/tmp...) may change under other processes;
	// src itself did not, so its subtree must be the very same.
	if a, b := subtreeAt(t, r, s1.Tree, src), subtreeAt(t, r, s2.Tree, src); a != b {
		t.Fatal("an unchanged directory must keep the same subtree ID")
	}
	// One changed file: only it is read and only its new chunk stored.
	big := filepath.Join(src, "dir/b/big.bin")
	f, err := os.OpenFile(big, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("changed"), 1<<20+5)
	f.Close()
	_, st3 := backup(t, r, Options{Paths: []string{src}}, s2)
	if st3.FilesRead != 1 || st3.FilesChanged != 1 || st3.BlobsNew < 1 || st3.BytesAdded >= 3<<20 {
		t.Fatalf("one changed file: %+v", st3)
	}
}

func TestExcludeIncludeAndProgress(t *testing.T) {
	r := newRepo(t)
	src := filepath.Join(t.TempDir(), "src")
	if err := fsfixture.Build(src, 1<<20); err != nil {
		t.Fatal(err)
	}
	filter, err := fsfilter.New(nil, []string{"*.sh", filepath.Join(src, "dir/a")})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var last progress.Status
	tr := progress.New(context.Background(), func(s progress.Status) { mu.Lock(); last = s; mu.Unlock() }, 1e6)
	sn, _ := backup(t, r, Options{Paths: []string{src}, Filter: filter, Progress: tr}, nil)
	tr.Finish()
	got := strings.Join(names(t, r, sn.Tree, ""), "\n")
	if strings.Contains(got, "script.sh") || strings.Contains(got, "dir/a") {
		t.Fatalf("excluded entries were saved:\n%s", got)
	}
	if !strings.Contains(got, "dir/b/big.bin") || !strings.Contains(got, src+"/small.txt") {
		t.Fatalf("expected entries missing:\n%s", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if !last.Done || last.FilesDone == 0 || last.BytesDone < 2<<20 {
		t.Fatalf("final progress %+v", last)
	}

	inc, _ := fsfilter.New([]string{"*.bin"}, nil)
	sn, _ = backup(t, r, Options{Paths: []string{src}, Filter: inc}, nil)
	for _, p := range names(t, r, sn.Tree, "") {
		if strings.HasSuffix(p, ".txt") {
			t.Fatalf("include *.bin saved %s", p)
		}
	}
}

func TestVanishedFileIsAWarning(t *testing.T) {
	r := newRepo(t)
	src := t.TempDir()
	for _, n := range []string{"a", "gone", "z"} {
		os.WriteFile(filepath.Join(src, n), []byte(n), 0o644)
	}
	testHookBeforeOpen = func(p string) {
		if filepath.Base(p) == "gone" {
			os.Remove(p)
		}
	}
	defer func() { testHookBeforeOpen = nil }()
	var warned []string
	sn, st := backup(t, r, Options{Paths: []string{src}, Warn: func(p string, err error) {
		warned = append(warned, p+": "+err.Error())
	}}, nil)
	if st.Warnings != 1 || len(warned) != 1 || !strings.Contains(warned[0], "vanished") {
		t.Fatalf("warnings %d %q", st.Warnings, warned)
	}
	got := strings.Join(names(t, r, sn.Tree, ""), " ")
	if strings.Contains(got, "gone") || !strings.Contains(got, src+"/a") || !strings.Contains(got, src+"/z") {
		t.Fatalf("snapshot content %s", got)
	}
}

func TestBadInput(t *testing.T) {
	r := newRepo(t)
	ck, err := chunker.New(r.ChunkerSeed(), chunker.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opts Options
		msg  string
	}{
		{Options{}, "no paths"},
		{Options{Paths: []string{"/does/not/exist"}}, "cannot back up"},
		{Options{Paths: []string{t.TempDir()}, MaxMemory: 1024}, "memory limit"},
	} {
		if _, err := Run(context.Background(), r, ck, c.opts); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%+v: got %v, want an error mentioning %q", c.opts, err, c.msg)
		}
	}
}

func TestCancelledBackupStops(t *testing.T) {
	r := newRepo(t)
	src := filepath.Join(t.TempDir(), "src")
	if err := fsfixture.Build(src, 4<<20); err != nil {
		t.Fatal(err)
	}
	ck, _ := chunker.New(r.ChunkerSeed(), chunker.DefaultParams)
	ctx, cancel := context.WithCancel(context.Background())
	testHookBeforeOpen = func(string) { cancel() }
	defer func() { testHookBeforeOpen = nil }()
	if _, err := Run(ctx, r, ck, Options{Paths: []string{src}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

// fullRepo fails every data save the way a full file:// repository does.
type fullRepo struct{ *repo.Repository }

func (f fullRepo) SaveBlob(ctx context.Context, t ident.BlobType, id ident.ID, data []byte) (int, error) {
	if t == ident.DataBlob {
		return 0, &os.PathError{Op: "write", Path: "/repo/data/ab/cd", Err: syscall.ENOSPC}
	}
	return f.Repository.SaveBlob(ctx, t, id, data)
}

func TestRepositoryErrorStopsTheBackup(t *testing.T) {
	r := newRepo(t)
	src := t.TempDir()
	for _, n := range []string{"a", "b", "c"} {
		os.WriteFile(filepath.Join(src, n), fsfixture.Random(10<<10, 7), 0o644)
	}
	ck, _ := chunker.New(r.ChunkerSeed(), chunker.DefaultParams)
	warned := 0
	_, err := Run(context.Background(), fullRepo{r}, ck, Options{Paths: []string{src}, Warn: func(string, error) { warned++ }})
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("got %v, want the repository's ENOSPC to stop the backup", err)
	}
	if warned != 0 {
		t.Fatalf("a repository failure was reported as %d file warnings", warned)
	}
}

func TestUnreadableFileIsAWarningWithoutRepeatedPath(t *testing.T) {
	r := newRepo(t)
	mem := filepath.Join("/proc", strconv.Itoa(os.Getpid()), "mem")
	if _, err := os.ReadFile(mem); err == nil {
		t.Skip("/proc/<pid>/mem is readable here")
	}
	var msgs []string
	_, st := backup(t, r, Options{Paths: []string{mem}, Warn: func(p string, err error) { msgs = append(msgs, p+": "+err.Error()) }}, nil)
	if st.Warnings != 1 || len(msgs) != 1 || strings.Count(msgs[0], mem) != 1 || !strings.Contains(msgs[0], "read: ") {
		t.Fatalf("warnings %d: %q", st.Warnings, msgs)
	}
}

// TestSparseFileProgressReachesTotal: a sparse file's holes are never read,
// but the scan counts its whole size, so the holes must count as done or
// progress would end short of 100%.
func TestSparseFileProgressReachesTotal(t *testing.T) {
	r := newRepo(t)
	src := t.TempDir()
	f, err := os.Create(filepath.Join(src, "sparse.img"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte("data"), 1024), 6<<20); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(16 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(src, "sparse.img"), &st); err != nil || st.Blocks*512 >= st.Size {
		t.Skipf("file system did not keep the file sparse (%d blocks)", st.Blocks)
	}
	tr := progress.New(context.Background(), nil, time.Hour)
	_, stats := backup(t, r, Options{Paths: []string{src}, Progress: tr}, nil)
	final := tr.Finish()
	if final.BytesTotal != 16<<20 || final.BytesDone != final.BytesTotal {
		t.Fatalf("progress ended at %d of %d bytes", final.BytesDone, final.BytesTotal)
	}
	if stats.BytesRead >= 1<<20 {
		t.Fatalf("read %d bytes of a file with 4 KiB of data", stats.BytesRead)
	}
}

// TestFinalProgressHasTotals: the totals scan runs beside the backup; a tiny
// tree can be saved before the scan ends, and the final report must still
// carry the totals (the CLI's last line said 0 of 0 bytes, not 100%).
func TestFinalProgressHasTotals(t *testing.T) {
	r := newRepo(t)
	src := t.TempDir()
	for i := range 5 {
		if err := os.WriteFile(filepath.Join(src, strconv.Itoa(i)), fsfixture.Random(4<<10, uint64(i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 40 {
		tr := progress.New(context.Background(), nil, time.Hour)
		backup(t, r, Options{Paths: []string{src}, Progress: tr}, nil)
		final := tr.Finish()
		if !final.TotalsKnown || final.BytesTotal != 5*4<<10 || final.BytesDone != final.BytesTotal || final.FilesDone != final.FilesTotal {
			t.Fatalf("backup %d: final progress %+v: want the totals known and all of them done", i, final)
		}
	}
}
