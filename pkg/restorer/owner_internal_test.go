package restorer

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo/tree"
)

// TestOwnershipDecisions: without CAP_CHOWN only the group of the process's
// own files changes, and only to one of its groups; with it any owner is
// set. takeOver makes another user's entry the process's own and writable
// only when the process may write just into what it owns, and leaves its
// own writable entries alone. (The syscalls run as the root the test runs
// as; what is checked is which of them the decisions make.)
func TestOwnershipDecisions(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create files of other owners")
	}
	dir := t.TempDir()
	file := func(name string, uid, gid int, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
		return p
	}
	owner := func(p string) (uint32, uint32, uint32) {
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		return st.Uid, st.Gid, st.Mode & 0o777
	}
	plain := ownership{uid: 1000, groups: map[int]bool{1000: true, 2000: true}}
	for _, tc := range []struct {
		uid, gid         uint32
		wantUID, wantGID uint32
		name             string
	}{
		{1000, 2000, 1000, 2000, "own user, own group"},
		{1000, 3000, 1000, 1000, "own user, another group"},
		{1001, 2000, 1000, 1000, "another user"},
	} {
		p := file(tc.name, 1000, 1000, 0o644)
		if err := plain.setOwner(p, tree.Node{UID: tc.uid, GID: tc.gid}); err != nil {
			t.Fatal(err)
		}
		if u, g, _ := owner(p); u != tc.wantUID || g != tc.wantGID {
			t.Errorf("%s without CHOWN: %d:%d, want %d:%d", tc.name, u, g, tc.wantUID, tc.wantGID)
		}
	}
	p := file("any", 1000, 1000, 0o644)
	if err := (ownership{chown: true}).setOwner(p, tree.Node{UID: 4321, GID: 8765}); err != nil {
		t.Fatal(err)
	}
	if u, g, _ := owner(p); u != 4321 || g != 8765 {
		t.Errorf("with CHOWN: %d:%d", u, g)
	}

	taker := ownership{chown: true, take: true, uid: 0}
	for _, tc := range []struct {
		name           string
		uid            int
		mode           os.FileMode
		wantUID, mode2 uint32
	}{
		{"other user's", 1001, 0o444, 0, 0o644},
		{"own, read-only", 0, 0o444, 0, 0o644},
		{"own, writable", 0, 0o640, 0, 0o640},
	} {
		p := file("take-"+tc.name, tc.uid, 5, tc.mode)
		fi, _ := os.Lstat(p)
		taker.takeOver(p, fi)
		if u, g, m := owner(p); u != tc.wantUID || g != 5 || m != tc.mode2 {
			t.Errorf("takeOver of %s file: %d:%d %o, want %d:5 %o", tc.name, u, g, m, tc.wantUID, tc.mode2)
		}
	}
	p = file("no-take", 1001, 5, 0o444)
	fi, _ := os.Lstat(p)
	(ownership{chown: true, uid: 0}).takeOver(p, fi) // CAP_DAC_OVERRIDE too: nothing to take
	if u, _, m := owner(p); u != 1001 || m != 0o444 {
		t.Errorf("takeOver with DAC_OVERRIDE changed the file: %d %o", u, m)
	}
}
