package restorer_test

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/pkg/fsfixture"
	"github.com/cairnbackup/cairn/pkg/fsutil"
	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/tree"
	"github.com/cairnbackup/cairn/pkg/restorer"
)

// groupReadACL is a POSIX access ACL in the kernel's xattr form: owner rw,
// user 1234 r, group r, mask r, other none (so the mode is 0640).
func groupReadACL() []byte {
	const undefined = 0xffffffff
	b := binary.LittleEndian.AppendUint32(nil, 2)
	for _, e := range [][3]uint32{{0x01, 6, undefined}, {0x02, 4, 1234}, {0x04, 4, undefined}, {0x10, 4, undefined}, {0x20, 0, undefined}} {
		b = binary.LittleEndian.AppendUint16(b, uint16(e[0]))
		b = binary.LittleEndian.AppendUint16(b, uint16(e[1]))
		b = binary.LittleEndian.AppendUint32(b, e[2])
	}
	return b
}

// xattrTree stores a snapshot tree by hand (the archiver's part is tested
// in its package): /x/f, an empty file with user attributes and an ACL, and
// the directory /x with an attribute of its own.
func xattrTree(t *testing.T, r *repo.Repository) repo.ID {
	t.Helper()
	ctx := context.Background()
	write := func(nodes ...tree.Node) repo.ID {
		w := tree.NewWriter(r, 0)
		for i := range nodes {
			if err := w.Add(ctx, &nodes[i]); err != nil {
				t.Fatal(err)
			}
		}
		id, err := w.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	inner := write(tree.Node{Name: "f", Type: tree.File, Mode: 0o640, ModTime: 1e18, Xattrs: []tree.Xattr{
		{Name: "system.posix_acl_access", Value: groupReadACL()},
		{Name: "user.checksum", Value: []byte("abc")},
		{Name: "user.empty", Value: []byte{}},
	}})
	return write(tree.Node{Name: "x", Type: tree.Dir, Mode: 0o750, ModTime: 2e18, Subtree: inner,
		Xattrs: []tree.Xattr{{Name: "user.dir", Value: []byte("d")}}})
}

func xattrNames(t *testing.T, path string) []string {
	t.Helper()
	attrs, _, err := fsutil.ReadXattrs(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range attrs {
		out = append(out, a.Name+"="+string(a.Value[:min(len(a.Value), 3)]))
	}
	return out
}

func TestRestoreXattrsAndRerun(t *testing.T) {
	r := newRepo(t)
	root := xattrTree(t, r)
	target := t.TempDir()
	probe := filepath.Join(target, "probe")
	os.WriteFile(probe, nil, 0o600)
	if err := unix.Lsetxattr(probe, "user.probe", nil, 0); err != nil {
		t.Skipf("the test directory's file system lacks user xattrs (%v)", err)
	}
	st, err := restorer.Run(context.Background(), r, root, restorer.Options{Target: target})
	if err != nil || st.Warnings != 0 || st.XattrsSkipped != 0 {
		t.Fatalf("restore: %v, stats %+v", err, st)
	}
	f := filepath.Join(target, "x/f")
	acl := string(groupReadACL()[:3])
	if got, want := xattrNames(t, f), []string{"system.posix_acl_access=" + acl, "user.checksum=abc", "user.empty="}; !slices.Equal(got, want) {
		t.Fatalf("file attributes %q, want %q", got, want)
	}
	if got := xattrNames(t, filepath.Join(target, "x")); !slices.Equal(got, []string{"user.dir=d"}) {
		t.Fatalf("directory attributes %q", got)
	}
	fi, _ := os.Lstat(f)
	if fi.Mode().Perm() != 0o640 || fi.ModTime().UnixNano() != 1e18 {
		t.Fatalf("mode %v mtime %v: setting attributes must not disturb mode or mtime", fi.Mode(), fi.ModTime())
	}

	// Damage the attributes only: the content is right, so the file is
	// skipped, but its attributes are compared and put right.
	unix.Lsetxattr(f, "user.checksum", []byte("tampered"), 0)
	unix.Lsetxattr(f, "user.stray", []byte("x"), 0)
	unix.Lremovexattr(f, "user.empty")
	st, err = restorer.Run(context.Background(), r, root, restorer.Options{Target: target})
	if err != nil || st.FilesSkipped != 1 || st.BytesWritten != 0 {
		t.Fatalf("rerun: %v, stats %+v", err, st)
	}
	if got, want := xattrNames(t, f), []string{"system.posix_acl_access=" + acl, "user.checksum=abc", "user.empty="}; !slices.Equal(got, want) {
		t.Fatalf("after the rerun: %q, want %q", got, want)
	}
	if fi, _ := os.Lstat(f); fi.ModTime().UnixNano() != 1e18 {
		t.Fatal("fixing attributes changed the mtime")
	}
}

func TestRestoreXattrsOntoFileSystemWithout(t *testing.T) {
	r := newRepo(t)
	root := xattrTree(t, r)
	target := fsfixture.RamfsDir(t)
	var warnings []string
	st, err := restorer.Run(context.Background(), r, root, restorer.Options{Target: target,
		Warn: func(p string, err error) { warnings = append(warnings, p+": "+err.Error()) }})
	if err != nil {
		t.Fatalf("a target without xattrs must not fail the restore: %v", err)
	}
	if st.XattrsSkipped != 4 || st.Warnings != 2 || len(warnings) != 2 {
		t.Fatalf("stats %+v, warnings %q: want 4 attributes skipped, one warning per file", st, warnings)
	}
	for _, w := range warnings {
		if !strings.Contains(w, "does not support them") {
			t.Errorf("warning %q does not say the file system lacks xattrs", w)
		}
	}
	if fi, err := os.Stat(filepath.Join(target, "x/f")); err != nil || fi.Mode().Perm() != 0o640 {
		t.Fatalf("the file itself must still be restored with its mode: %v %v", fi, err)
	}
}
