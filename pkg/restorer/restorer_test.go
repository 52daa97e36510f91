package restorer_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cairnbackup/cairn/pkg/archiver"
	"github.com/cairnbackup/cairn/pkg/fsfixture"
	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/ident"
	"github.com/cairnbackup/cairn/pkg/repo/repotest"
	"github.com/cairnbackup/cairn/pkg/restorer"
)

func newRepo(t *testing.T) *repo.Repository {
	t.Helper()
	r, _ := repotest.Init(t)
	return r
}

// backupFixture builds the sample tree and backs it up.
func backupFixture(t *testing.T, r *repo.Repository) (string, *repo.Snapshot) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	if err := fsfixture.Build(src, 5<<20); err != nil {
		t.Fatal(err)
	}
	sn, st, err := archiver.Backup(context.Background(), r, archiver.Options{Paths: []string{src}}, archiver.SnapshotOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Warnings != 0 {
		t.Fatalf("%d warnings backing up the fixture", st.Warnings)
	}
	return src, sn
}

func TestRoundTripKeepsEverything(t *testing.T) {
	r := newRepo(t)
	src, sn := backupFixture(t, r)
	target := t.TempDir()
	st, err := restorer.Run(context.Background(), r, sn.Tree, restorer.Options{Target: target})
	if err != nil {
		t.Fatal(err)
	}
	if err := fsfixture.Compare(src, filepath.Join(target, src)); err != nil {
		t.Fatalf("restored tree differs:\n%v", err)
	}
	if st.Links != 1 || st.Files == 0 || st.Warnings != 0 {
		t.Fatalf("unexpected stats %+v", st)
	}

	// Rerun: everything is already right, nothing is written.
	st, err = restorer.Run(context.Background(), r, sn.Tree, restorer.Options{Target: target})
	if err != nil {
		t.Fatal(err)
	}
	if st.BytesWritten != 0 || st.FilesSkipped == 0 {
		t.Fatalf("rerun wrote %d bytes, skipped %d files; want 0 written", st.BytesWritten, st.FilesSkipped)
	}

	// Damage one file's middle and touch its mtime: only that chunk
	// is rewritten, the rest is kept.
	big := filepath.Join(target, src, "dir/b/big.bin")
	f, err := os.OpenFile(big, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("garbage"), 2<<20)
	f.Close()
	st, err = restorer.Run(context.Background(), r, sn.Tree, restorer.Options{Target: target})
	if err != nil {
		t.Fatal(err)
	}
	if st.ChunksKept == 0 || st.BytesWritten == 0 || st.BytesWritten >= 5<<20 {
		t.Fatalf("repair stats %+v: want some chunks kept and less than the file rewritten", st)
	}
	if err := fsfixture.Compare(src, filepath.Join(target, src)); err != nil {
		t.Fatalf("repaired tree differs:\n%v", err)
	}
}

func TestRestoreSomePaths(t *testing.T) {
	r := newRepo(t)
	src, sn := backupFixture(t, r)
	target := t.TempDir()
	_, err := restorer.Run(context.Background(), r, sn.Tree, restorer.Options{
		Target:  target,
		Include: []string{filepath.Join(src, "dir/b")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := fsfixture.Compare(filepath.Join(src, "dir/b"), filepath.Join(target, src, "dir/b")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(target, src, "small.txt")); !os.IsNotExist(err) {
		t.Fatalf("small.txt was restored though not included (err=%v)", err)
	}
	if _, err := os.Lstat(filepath.Join(target, src, "dir/a")); !os.IsNotExist(err) {
		t.Fatalf("dir/a was restored though not included (err=%v)", err)
	}
}

func TestUnwritableTarget(t *testing.T) {
	r := newRepo(t)
	_, sn := backupFixture(t, r)
	file := filepath.Join(t.TempDir(), "a-file")
	os.WriteFile(file, nil, 0o644)
	_, err := restorer.Run(context.Background(), r, sn.Tree, restorer.Options{Target: filepath.Join(file, "sub")})
	if err == nil || !strings.Contains(err.Error(), "cannot create restore target") {
		t.Fatalf("got %v, want a clear error about the target", err)
	}
}

func mkdir(p string) error { return os.MkdirAll(p, 0o755) }

// TestDuplicateChunksInOneRun: chunks are decrypted where they lie in the
// run's buffer, so a chunk that two files share (read once, used twice)
// must be served from the first decryption. Compressible and
// incompressible copies, several of each, all come back intact.
func TestDuplicateChunksInOneRun(t *testing.T) {
	r := newRepo(t)
	src := filepath.Join(t.TempDir(), "src")
	text := bytes.Repeat([]byte("the same compressible line\n"), 2000)
	random := fsfixture.Random(300<<10, 7)
	for i := 0; i < 4; i++ {
		for name, data := range map[string][]byte{"text": text, "rand": random} {
			p := filepath.Join(src, fmt.Sprintf("%s-%d", name, i))
			if err := os.MkdirAll(src, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	sn, _, err := archiver.Backup(context.Background(), r, archiver.Options{Paths: []string{src}}, archiver.SnapshotOptions{})
	if err != nil {
		t.Fatal(err)
	}
	target := t.TempDir()
	cr := &countingRepo{Repository: r}
	if _, err := restorer.Run(context.Background(), cr, sn.Tree, restorer.Options{Target: target, Workers: 1}); err != nil {
		t.Fatal(err)
	}
	if err := fsfixture.Compare(src, filepath.Join(target, src)); err != nil {
		t.Fatalf("restored tree differs:\n%v", err)
	}
	if n := cr.dataLoads.Load(); n != 0 {
		t.Fatalf("%d chunks were loaded again one by one instead of reused from the run", n)
	}
}

// countingRepo counts data blobs loaded one by one (the fallback path).
type countingRepo struct {
	*repo.Repository
	dataLoads atomic.Int64
}

func (c *countingRepo) LoadBlob(ctx context.Context, t ident.BlobType, id ident.ID) ([]byte, error) {
	if t == ident.DataBlob {
		c.dataLoads.Add(1)
	}
	return c.Repository.LoadBlob(ctx, t, id)
}

// TestInPlaceRestore: a pod restores into "/" whose volumes are mounted at
// the backed-up paths; the target itself is only required to exist (it is
// read-only in a pod, so it is neither created nor probed).
func TestInPlaceRestore(t *testing.T) {
	r := newRepo(t)
	src, sn := backupFixture(t, r)
	target := t.TempDir()
	if err := mkdir(filepath.Join(target, src)); err != nil { // the "mounted volume"
		t.Fatal(err)
	}
	if _, err := restorer.Run(context.Background(), r, sn.Tree, restorer.Options{Target: target, InPlace: true}); err != nil {
		t.Fatal(err)
	}
	if err := fsfixture.Compare(src, filepath.Join(target, src)); err != nil {
		t.Fatalf("in-place restore differs:\n%v", err)
	}
	_, err := restorer.Run(context.Background(), r, sn.Tree, restorer.Options{Target: filepath.Join(target, "missing"), InPlace: true})
	if err == nil || !strings.Contains(err.Error(), "not an existing directory") {
		t.Fatalf("in-place restore into a missing target: %v", err)
	}
}
