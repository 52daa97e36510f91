package archiver

import (
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/pkg/fsfixture"
	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/tree"
)

// lstatNode lstat's path and builds its node the way the walker does.
func lstatNode(t *testing.T, nr *nodeReader, path string) tree.Node {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return nr.node(path, &st)
}

func TestNodeReaderKeepsXattrsThroughTheTreeFormat(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	if err := os.WriteFile(f, []byte("data"), 0o640); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"user.b": "2", "user.a": "1", "user.bin": "\x00\xff"} {
		if err := unix.Lsetxattr(f, name, []byte(v), 0); err != nil {
			t.Skipf("the test directory's file system lacks user xattrs (%v)", err)
		}
	}
	l := filepath.Join(dir, "l")
	if err := os.Symlink("f", l); err != nil {
		t.Fatal(err)
	}

	nr := &nodeReader{}
	n := lstatNode(t, nr, f)
	if n.Name != "f" || n.Type != tree.File || n.Size != 4 {
		t.Fatalf("stat part of the node is wrong: %+v", n)
	}
	want := []tree.Xattr{{Name: "user.a", Value: []byte("1")}, {Name: "user.b", Value: []byte("2")}, {Name: "user.bin", Value: []byte{0, 0xff}}}
	if len(n.Xattrs) != len(want) {
		t.Fatalf("xattrs %q, want %q", n.Xattrs, want)
	}
	for i := range want {
		if n.Xattrs[i].Name != want[i].Name || string(n.Xattrs[i].Value) != string(want[i].Value) {
			t.Fatalf("xattr %d is %q=%q, want %q=%q (sorted by name)", i, n.Xattrs[i].Name, n.Xattrs[i].Value, want[i].Name, want[i].Value)
		}
	}
	// The node survives the tree encoding with its attributes, in order.
	back, err := tree.DecodeNode(tree.AppendNode(nil, &n))
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Xattrs) != 3 || back.Xattrs[2].Name != "user.bin" || string(back.Xattrs[2].Value) != "\x00\xff" {
		t.Fatalf("decoded xattrs %q", back.Xattrs)
	}

	// The symlink's node has the link's (no) attributes, not f's.
	if ln := lstatNode(t, nr, l); ln.Type != tree.Symlink || len(ln.Xattrs) != 0 {
		t.Fatalf("symlink node %+v: it must not follow the link to f's attributes", ln)
	}
	if nr.xattrsSkipped.Load() != 0 {
		t.Fatalf("%d attributes counted as skipped, want 0", nr.xattrsSkipped.Load())
	}
}

func TestNodeReaderOnFileSystemWithoutXattrs(t *testing.T) {
	dir := fsfixture.RamfsDir(t)
	f := filepath.Join(dir, "f")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	nr := &nodeReader{}
	if n := lstatNode(t, nr, f); n.Type != tree.File || n.Xattrs != nil || nr.xattrsSkipped.Load() != 0 {
		t.Fatalf("node %+v, %d skipped: a file system without xattrs has none, and that is not a skip", n, nr.xattrsSkipped.Load())
	}
}

// An unchanged file takes its attributes from the parent snapshot without
// reading them, but only from a parent that recorded that none was
// skipped; a changed attribute (which changes the ctime) is read again.
func TestUnchangedFilesReuseTheParentsXattrs(t *testing.T) {
	r := newRepo(t)
	dir := filepath.Join(t.TempDir(), "src")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, g := filepath.Join(dir, "f"), filepath.Join(dir, "g")
	for _, p := range []string{f, g} {
		if err := os.WriteFile(p, []byte("data of "+p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Lsetxattr(f, "user.a", []byte("1"), 0); err != nil {
		t.Skipf("the test directory's file system lacks user xattrs (%v)", err)
	}
	var mu sync.Mutex
	read := map[string]int{}
	testHookReadXattrs = func(p string) {
		mu.Lock()
		read[p]++
		mu.Unlock()
	}
	t.Cleanup(func() { testHookReadXattrs = nil })
	run := func(parent *repo.Snapshot) (*repo.Snapshot, map[string]int) {
		t.Helper()
		mu.Lock()
		clear(read)
		mu.Unlock()
		sn, _ := backup(t, r, Options{Paths: []string{dir}}, parent)
		mu.Lock()
		defer mu.Unlock()
		return sn, map[string]int{"f": read[f], "g": read[g]}
	}
	xattrOf := func(sn *repo.Snapshot) string {
		t.Helper()
		nodes, err := tree.ReadAll(t.Context(), r, subtreeAt(t, r, sn.Tree, dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			if n.Name == "f" && len(n.Xattrs) == 1 && n.Xattrs[0].Name == "user.a" {
				return string(n.Xattrs[0].Value)
			}
		}
		t.Fatalf("f has no user.a in snapshot %s", sn.ID.Short())
		return ""
	}

	s1, reads := run(nil)
	if reads["f"] != 1 || reads["g"] != 1 || s1.Stats.XattrsSkipped == nil || *s1.Stats.XattrsSkipped != 0 {
		t.Fatalf("first backup: attribute reads %v, recorded skipped %v", reads, s1.Stats.XattrsSkipped)
	}
	s2, reads := run(s1)
	if reads["f"] != 0 || reads["g"] != 0 || xattrOf(s2) != "1" {
		t.Fatalf("unchanged backup read attributes %v (want none) or lost user.a", reads)
	}
	if err := unix.Lsetxattr(f, "user.a", []byte("2"), 0); err != nil {
		t.Fatal(err)
	}
	s3, reads := run(s2)
	if reads["f"] != 1 || reads["g"] != 0 || xattrOf(s3) != "2" {
		t.Fatalf("after setxattr on f: attribute reads %v, user.a=%q; want f read again with 2", reads, xattrOf(s3))
	}
	// A parent that did not record skipped attributes (written by an
	// earlier version), or that another user took, is not trusted.
	old := *s3
	old.Stats.XattrsSkipped = nil
	if _, reads = run(&old); reads["f"] != 1 || reads["g"] != 1 {
		t.Fatalf("parent without the record: attribute reads %v, want every file read", reads)
	}
	other := *s3
	other.Username = "someone-else"
	if _, reads = run(&other); reads["f"] != 1 || reads["g"] != 1 {
		t.Fatalf("parent of another user: attribute reads %v, want every file read", reads)
	}
}
