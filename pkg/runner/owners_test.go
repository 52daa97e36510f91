package runner

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cairnbackup/cairn/pkg/fsfilter"
)

// TestBackupRecordsOwners: the component's status.owners lists the users
// and groups owning the backed-up files, excluded files left out, so the
// operator can tell before a restore starts whether it must set owners
// other than its own user's.
func TestBackupRecordsOwners(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files other owners")
	}
	f := newFixture(t, nil)
	writeFiles(t, f.data, map[string]string{"other/x": "of user 1234", "cache/y": "excluded"})
	for _, o := range []struct {
		path     string
		uid, gid int
	}{{"other", 1234, 5678}, {"other/x", 1235, 5678}, {"cache/y", 999, 999}} {
		if err := os.Lchown(filepath.Join(f.data, o.path), o.uid, o.gid); err != nil {
			t.Fatal(err)
		}
	}
	q := f.backupRequest(f.snapshot("s1"), "dump")
	q.Exclude = []string{"cache"}
	if _, err := f.runner.Backup(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	got := f.component("s1", "dump").Owners
	if got == nil || !slices.Equal(got.UIDs, []int64{0, 1234, 1235}) || !slices.Equal(got.GIDs, []int64{0, 5678}) || got.Truncated {
		t.Fatalf("owners %+v, want uids 0, 1234, 1235 and gids 0, 5678", got)
	}
}

// TestOwnerScanIsBounded: more distinct owners than MaxOwners keep the
// lists at MaxOwners and say so; a backed-up directory's own owner (a
// mount point's) is not counted; a scan cut short records nothing, since
// an incomplete list would hide owners a restore must set.
func TestOwnerScanIsBounded(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files other owners")
	}
	dir := t.TempDir()
	for i := 0; i < MaxOwners+4; i++ {
		p := filepath.Join(dir, "f"+string(rune('a'+i)))
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(p, 2000+i, 3000); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Lchown(dir, 4000, 4000); err != nil {
		t.Fatal(err)
	}
	got := scanOwners(context.Background(), []string{dir}, nil)
	if len(got.UIDs) != MaxOwners || !got.Truncated || !slices.Equal(got.GIDs, []int64{3000}) || slices.Contains(got.UIDs, 4000) {
		t.Fatalf("owners %+v: want %d uids, truncated, gid 3000 (not the backed-up directory's own 4000)", got, MaxOwners)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := scanOwners(ctx, []string{dir}, nil); got != nil {
		t.Fatalf("a cancelled scan recorded %+v", got)
	}
	filter, _ := fsfilter.New(nil, []string{"f*"})
	if got := startOwnerScan(context.Background(), []string{dir}, filter).wait(); len(got.UIDs) != 0 || got.Truncated {
		t.Fatalf("with every file excluded: %+v", got)
	}
}
