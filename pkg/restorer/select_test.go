package restorer_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cairnbackup/cairn/pkg/fsfixture"
	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/ident"
	"github.com/cairnbackup/cairn/pkg/repo/tree"
	"github.com/cairnbackup/cairn/pkg/restorer"
)

// exists lists which of the paths (relative to base) are present.
func exists(base string, paths ...string) []string {
	var out []string
	for _, p := range paths {
		if _, err := os.Lstat(filepath.Join(base, p)); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func TestRestorePatterns(t *testing.T) {
	r := newRepo(t)
	src, sn := backupFixture(t, r)
	all := []string{"small.txt", "dir", "dir/a", "dir/a/deep.bin", "dir/b", "dir/b/big.bin", "dir/b/dup.bin", "dir/b/script.sh", "links", "ro", "sparse.img"}

	// Globs without a slash match names anywhere; only the directories
	// leading to a match are created, with their metadata.
	target := t.TempDir()
	st, err := restorer.Run(context.Background(), r, sn.Tree, restorer.Options{Target: target,
		Include: []string{"*.bin"}, Exclude: []string{"dup.*", "no-such-name"}})
	if err != nil {
		t.Fatal(err)
	}
	got := filepath.Join(target, src)
	if have, want := exists(got, all...), []string{"dir", "dir/a", "dir/a/deep.bin", "dir/b", "dir/b/big.bin"}; !slices.Equal(have, want) {
		t.Fatalf("restored %q, want %q", have, want)
	}
	if err := fsfixture.Compare(filepath.Join(src, "dir/a"), filepath.Join(got, "dir/a")); err != nil {
		t.Fatalf("dir/a (a parent of a match) lacks its metadata or content:\n%v", err)
	}
	for _, d := range []string{"", "dir", "dir/b"} {
		a, _ := os.Lstat(filepath.Join(src, d))
		b, _ := os.Lstat(filepath.Join(got, d))
		if !a.ModTime().Equal(b.ModTime()) || a.Mode() != b.Mode() {
			t.Errorf("parent directory %q: mode %v mtime %v, want %v %v", d, b.Mode(), b.ModTime(), a.Mode(), a.ModTime())
		}
	}
	if !slices.Equal(st.UnmatchedExcludes, []string{"no-such-name"}) {
		t.Errorf("UnmatchedExcludes = %q", st.UnmatchedExcludes)
	}

	// An anchored pattern naming a directory restores it whole.
	target = t.TempDir()
	if _, err := restorer.Run(context.Background(), r, sn.Tree, restorer.Options{Target: target,
		Include: []string{filepath.Join(src, "d?r") + "/*"}, Exclude: []string{"script.sh"}}); err != nil {
		t.Fatal(err)
	}
	if have, want := exists(filepath.Join(target, src), all...), []string{"dir", "dir/a", "dir/a/deep.bin", "dir/b", "dir/b/big.bin", "dir/b/dup.bin"}; !slices.Equal(have, want) {
		t.Fatalf("restored %q, want %q", have, want)
	}
}

func TestRestorePatternThatMatchesNothing(t *testing.T) {
	r := newRepo(t)
	src, sn := backupFixture(t, r)
	target := t.TempDir()
	_, err := restorer.Run(context.Background(), r, sn.Tree, restorer.Options{Target: target,
		Include: []string{filepath.Join(src, "links"), "*.docx", filepath.Join(src, "links/original")}})
	var nm *restorer.NoMatchError
	if !errors.As(err, &nm) || !slices.Equal(nm.Patterns, []string{"*.docx"}) {
		t.Fatalf("got %v, want a NoMatchError for *.docx only (a pattern nested in another one matches)", err)
	}
	if !strings.Contains(err.Error(), `"*.docx" matched nothing`) || strings.Contains(err.Error(), "cairn") {
		t.Fatalf("message %q does not say what is wrong, or gives a command-line user's advice (the CLI adds that)", err)
	}
	// What the other patterns named is restored all the same.
	if err := fsfixture.Compare(filepath.Join(src, "links"), filepath.Join(target, src, "links")); err != nil {
		t.Fatal(err)
	}
	if _, err := restorer.Run(context.Background(), r, sn.Tree, restorer.Options{Target: target, Include: []string{"/["}}); err == nil || !strings.Contains(err.Error(), "not a valid glob") {
		t.Fatalf("bad pattern: %v", err)
	}
}

// treeCounter records which tree blobs a restore loads.
type treeCounter struct {
	*repo.Repository
	mu     sync.Mutex
	loaded map[ident.ID]bool
}

func (c *treeCounter) LoadBlob(ctx context.Context, t ident.BlobType, id ident.ID) ([]byte, error) {
	if t == ident.TreeBlob {
		c.mu.Lock()
		c.loaded[id] = true
		c.mu.Unlock()
	}
	return c.Repository.LoadBlob(ctx, t, id)
}

// subtree returns the tree ID of the directory at path in the snapshot.
func subtree(t *testing.T, r *repo.Repository, root ident.ID, path string) ident.ID {
	t.Helper()
	id := root
	for _, name := range strings.Split(strings.Trim(path, "/"), "/") {
		rd := tree.NewReader(r, id)
		for {
			n, err := rd.Next(context.Background())
			if err != nil {
				t.Fatalf("%s not in the snapshot: %v", path, err)
			}
			if n.Name == name {
				id = n.Subtree
				break
			}
		}
	}
	return id
}

func TestAnchoredIncludeReadsOnlyTheWayThere(t *testing.T) {
	r := newRepo(t)
	src, sn := backupFixture(t, r)
	c := &treeCounter{Repository: r, loaded: map[ident.ID]bool{}}
	target := t.TempDir()
	if _, err := restorer.Run(context.Background(), c, sn.Tree, restorer.Options{Target: target,
		Include: []string{filepath.Join(src, "dir/b")}}); err != nil {
		t.Fatal(err)
	}
	if !c.loaded[subtree(t, r, sn.Tree, filepath.Join(src, "dir/b"))] {
		t.Fatal("the included directory's tree was not read")
	}
	for _, p := range []string{"links", "ro", "dir/a"} {
		if c.loaded[subtree(t, r, sn.Tree, filepath.Join(src, p))] {
			t.Errorf("the tree of %s was read though no include pattern can match below it", p)
		}
	}
}
