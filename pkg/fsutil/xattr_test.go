package fsutil

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// setXattr sets an attribute or skips the test when the file system of the
// test directory cannot hold it.
func setXattr(t *testing.T, path, name string, value []byte) {
	t.Helper()
	if err := unix.Lsetxattr(path, name, value, 0); err != nil {
		t.Skipf("cannot set %s on %s (%v): the test directory's file system lacks xattrs", name, path, err)
	}
}

// aclValue encodes a POSIX access ACL the way the kernel stores it in
// system.posix_acl_access: owner rw, user 1234 r, group r, mask r, other none.
func aclValue() []byte {
	const undefined = 0xffffffff
	b := binary.LittleEndian.AppendUint32(nil, 2) // version
	for _, e := range []struct {
		tag, perm uint16
		id        uint32
	}{{0x01, 6, undefined}, {0x02, 4, 1234}, {0x04, 4, undefined}, {0x10, 4, undefined}, {0x20, 0, undefined}} {
		b = binary.LittleEndian.AppendUint16(b, e.tag)
		b = binary.LittleEndian.AppendUint16(b, e.perm)
		b = binary.LittleEndian.AppendUint32(b, e.id)
	}
	return b
}

func names(attrs []Xattr) []string {
	var out []string
	for _, a := range attrs {
		out = append(out, a.Name)
	}
	return out
}

func TestReadXattrsSortedWithACLAndNoFollow(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	setXattr(t, f, "user.zeta", []byte("last"))
	setXattr(t, f, "user.alpha", []byte("first"))
	setXattr(t, f, "user.empty", nil)
	setXattr(t, f, "system.posix_acl_access", aclValue())
	want := []string{"system.posix_acl_access", "user.alpha", "user.empty", "user.zeta"}
	if os.Geteuid() == 0 {
		setXattr(t, f, "trusted.root-only", []byte{0, 1, 2})
		want = []string{"system.posix_acl_access", "trusted.root-only", "user.alpha", "user.empty", "user.zeta"}
	}
	attrs, skipped, err := ReadXattrs(f)
	if err != nil || len(skipped) != 0 {
		t.Fatalf("ReadXattrs: %v, skipped %v", err, skipped)
	}
	if got := names(attrs); !slices.Equal(got, want) {
		t.Fatalf("names %q, want %q (sorted)", got, want)
	}
	if !bytes.Equal(attrs[0].Value, aclValue()) || string(attrs[len(attrs)-1].Value) != "last" {
		t.Fatalf("values read back wrong: %q", attrs)
	}

	// A symlink to f has none of f's attributes: nothing is followed.
	l := filepath.Join(dir, "l")
	if err := os.Symlink("f", l); err != nil {
		t.Fatal(err)
	}
	attrs, skipped, err = ReadXattrs(l)
	if err != nil || len(attrs) != 0 || len(skipped) != 0 {
		t.Fatalf("symlink: attrs %q skipped %v err %v; want none (no following)", names(attrs), skipped, err)
	}
	// A file that vanished has none, and that is not an error.
	if attrs, skipped, err := ReadXattrs(filepath.Join(dir, "gone")); err != nil || attrs != nil || skipped != nil {
		t.Fatalf("missing file: %v %v %v", attrs, skipped, err)
	}
}

func TestSyncXattrsSetsRemovesAndKeeps(t *testing.T) {
	f := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	setXattr(t, f, "user.stale", []byte("remove me"))
	setXattr(t, f, "user.keep", []byte("old value"))
	label := os.Geteuid() == 0
	if label {
		// Stands for an LSM label the running system put there.
		setXattr(t, f, "security.label-test", []byte("policy"))
	}
	want := []Xattr{{"system.posix_acl_access", aclValue()}, {"user.keep", []byte("new value")}, {"user.new", []byte("n")}}
	changed, failed := SyncXattrs(f, want)
	if len(failed) != 0 || changed != 4 {
		t.Fatalf("first sync: %d changed, failed %v; want 4 changes (acl, keep, new, stale removed)", changed, failed)
	}
	got, _, err := ReadXattrs(f)
	if err != nil {
		t.Fatal(err)
	}
	wantNames := []string{"system.posix_acl_access", "user.keep", "user.new"}
	if label {
		wantNames = []string{"security.label-test", "system.posix_acl_access", "user.keep", "user.new"}
	}
	if !slices.Equal(names(got), wantNames) {
		t.Fatalf("after sync: %q, want %q", names(got), wantNames)
	}
	// The access ACL carries the permission bits (owner rw, mask r,
	// other none), which is why a restore sets xattrs before chmod.
	if fi, _ := os.Stat(f); fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v after setting the ACL, want 0640", fi.Mode().Perm())
	}

	// Already right: nothing is written, so the ctime stays.
	var before, after syscall.Stat_t
	syscall.Lstat(f, &before)
	if changed, failed := SyncXattrs(f, want); changed != 0 || len(failed) != 0 {
		t.Fatalf("second sync changed %d (failed %v); want nothing", changed, failed)
	}
	syscall.Lstat(f, &after)
	if before.Ctim != after.Ctim {
		t.Fatal("an idempotent sync changed the ctime")
	}

	// A name no file system accepts fails alone, the others are set.
	changed, failed = SyncXattrs(f, append(want, Xattr{"bogus.name", []byte("x")}))
	if changed != 0 || len(failed) != 1 || failed[0].Name != "bogus.name" || !NoXattrSupport(failed[0].Err) {
		t.Fatalf("bogus name: %d changed, failed %v", changed, failed)
	}
}

func TestXattrsOnFileSystemWithoutSupport(t *testing.T) {
	dir := t.TempDir()
	// ramfs has no extended attributes at all; mounting it needs root.
	if err := syscall.Mount("ramfs", dir, "ramfs", 0, ""); err != nil {
		t.Skipf("cannot mount ramfs (%v)", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	f := filepath.Join(dir, "f")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	attrs, skipped, err := ReadXattrs(f)
	if err != nil || attrs != nil || skipped != nil {
		t.Fatalf("read on ramfs: %v %v %v; want nothing and no error", attrs, skipped, err)
	}
	_, failed := SyncXattrs(f, []Xattr{{"user.a", []byte("1")}, {"trusted.b", []byte("2")}})
	if len(failed) != 2 || !NoXattrSupport(failed[0].Err) {
		t.Fatalf("sync on ramfs: failed %v; want both refused as unsupported", failed)
	}
	var xe *XattrError = &failed[0]
	if !errors.Is(xe, unix.ENOTSUP) || xe.Error() != "user.a: operation not supported" {
		t.Fatalf("error %q does not name the attribute and cause", xe.Error())
	}
}

func TestSplitNames(t *testing.T) {
	for in, want := range map[string][]string{
		"":                nil,
		"user.a\x00":      {"user.a"},
		"a\x00b\x00":      {"a", "b"},
		"a\x00\x00b":      {"a", "b"}, // empty names and a missing terminator
		"trusted.x\x00y.": {"trusted.x", "y."},
	} {
		if got := splitNames([]byte(in)); !slices.Equal(got, want) {
			t.Errorf("splitNames(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestReadXattrsLongNameList: a name list longer than the first call's
// small buffer takes the sizing path and still returns every name.
func TestReadXattrsLongNameList(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	const n = 40
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("user.a-rather-long-attribute-name-%02d", i)
		if err := unix.Lsetxattr(p, name, []byte{byte(i)}, 0); err != nil {
			t.Skipf("no user xattrs here: %v", err)
		}
	}
	attrs, skipped, err := ReadXattrs(p)
	if err != nil || len(skipped) != 0 || len(attrs) != n {
		t.Fatalf("got %d attributes, %d skipped, %v; want %d", len(attrs), len(skipped), err, n)
	}
	for i, a := range attrs {
		if want := fmt.Sprintf("user.a-rather-long-attribute-name-%02d", i); a.Name != want || len(a.Value) != 1 || a.Value[0] != byte(i) {
			t.Fatalf("attribute %d = %q %v, want %q", i, a.Name, a.Value, want)
		}
	}
}
