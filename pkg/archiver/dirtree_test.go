package archiver

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo/ident"
	"github.com/cairnbackup/cairn/pkg/repo/tree"
)

// A directory with more entries than maxPendingChildren, some of them read
// (new or changed) and others reused unread, must come out with every
// entry, in name order, with the content of each; and an unchanged
// re-backup must give it the same subtree.
func TestLargeDirectoryMixesReadAndReusedEntries(t *testing.T) {
	r := newRepo(t)
	src := filepath.Join(t.TempDir(), "big")
	const n = 3*maxPendingChildren + 17
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(i int, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(src, fmt.Sprintf("f%04d", i)), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		write(i, fmt.Sprintf("file %d", i))
	}
	if err := os.Mkdir(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("f0001", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	s1, st1 := backup(t, r, Options{Paths: []string{src}}, nil)
	if st1.FilesRead != n {
		t.Fatalf("first backup read %d files, want %d", st1.FilesRead, n)
	}
	s2, st2 := backup(t, r, Options{Paths: []string{src}}, s1)
	if st2.FilesRead != 0 || st2.FilesUnchanged != n {
		t.Fatalf("unchanged backup: %+v", st2)
	}
	if a, b := subtreeAt(t, r, s1.Tree, src), subtreeAt(t, r, s2.Tree, src); a != b {
		t.Fatal("an unchanged large directory must keep its subtree ID")
	}
	// Every 7th file changes (a new size), so read and reused entries
	// alternate in runs that straddle the pending bound.
	for i := 0; i < n; i += 7 {
		write(i, fmt.Sprintf("changed file %d", i))
	}
	s3, st3 := backup(t, r, Options{Paths: []string{src}}, s2)
	changed := int64((n + 6) / 7)
	if st3.FilesRead != changed || st3.FilesChanged != changed || st3.FilesUnchanged != n-changed {
		t.Fatalf("backup with every 7th file changed: %+v", st3)
	}
	nodes, err := tree.ReadAll(t.Context(), r, subtreeAt(t, r, s3.Tree, src))
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != n+2 {
		t.Fatalf("%d entries in the tree, want %d", len(nodes), n+2)
	}
	if !slices.IsSortedFunc(nodes, func(a, b *tree.Node) int { return strings.Compare(a.Name, b.Name) }) {
		t.Fatal("tree entries are not in name order")
	}
	for _, nd := range nodes {
		if nd.Type != tree.File {
			continue
		}
		var i int
		fmt.Sscanf(nd.Name, "f%04d", &i)
		want := fmt.Sprintf("file %d", i)
		if i%7 == 0 {
			want = "changed " + want
		}
		if nd.Size != uint64(len(want)) || len(nd.Content) != 1 {
			t.Fatalf("%s: size %d with %d chunks, want the %d bytes %q", nd.Name, nd.Size, len(nd.Content), len(want), want)
		}
		got, err := r.LoadBlob(t.Context(), ident.DataBlob, nd.Content[0])
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Fatalf("%s holds %q, want %q", nd.Name, got, want)
		}
	}
}
