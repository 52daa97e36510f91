package archiver

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/pkg/fsfixture"
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
