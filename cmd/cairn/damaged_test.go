package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
)

// TestDamagedSnapshotCLI: with one snapshot object damaged, snapshots,
// backup (its parent search), restore latest and forget by policy go on and
// warn naming it; check reports it; prune refuses, saying how to remove
// it; forget <id> removes it, after which prune runs.
func TestDamagedSnapshotCLI(t *testing.T) {
	repoURL := setupRepo(t)
	src := filepath.Join(t.TempDir(), "data")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("first"), 0o644)
	mustCairn(t, "repo", "backup", "-q", src)
	var list []struct {
		ID      string `json:"id"`
		ShortID string `json:"short_id"`
	}
	json.Unmarshal([]byte(mustCairn(t, "repo", "snapshots", "--json")), &list)
	if len(list) != 1 {
		t.Fatalf("snapshots: %+v", list)
	}
	bad := list[0]
	p := filepath.Join(strings.TrimPrefix(repoURL, "file://"), "snapshots", bad.ID)
	if err := os.WriteFile(p, []byte("not a snapshot"), 0o600); err != nil {
		t.Fatal(err)
	}

	code, out, errs := cairn(t, "repo", "snapshots")
	if code != cli.ExitOK || !strings.Contains(errs, bad.ShortID) || !strings.Contains(out, "0 snapshots") {
		t.Fatalf("snapshots: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	os.WriteFile(filepath.Join(src, "b.txt"), []byte("second"), 0o644)
	code, _, errs = cairn(t, "repo", "backup", "-q", src)
	if code != cli.ExitOK || !strings.Contains(errs, bad.ShortID) {
		t.Fatalf("backup: exit %d, stderr: %s", code, errs)
	}
	mustCairn(t, "repo", "restore", "-q", "latest", "--target", filepath.Join(t.TempDir(), "out"))
	if code, _, errs = cairn(t, "repo", "forget", "--keep-last", "5"); code != cli.ExitOK || !strings.Contains(errs, bad.ShortID) {
		t.Fatalf("forget by policy: exit %d, stderr: %s", code, errs)
	}
	if code, out, _ = cairn(t, "repo", "check"); code != cli.ExitDamaged || !strings.Contains(out, "snapshots/"+bad.ID) {
		t.Fatalf("check: exit %d\n%s", code, out)
	}
	if code, _, errs = cairn(t, "repo", "prune"); code != cli.ExitDamaged || !strings.Contains(errs, bad.ID) || !strings.Contains(errs, "cairn repo forget") {
		t.Fatalf("prune: exit %d, stderr: %s", code, errs)
	}
	mustCairn(t, "repo", "forget", "-q", bad.ShortID)
	mustCairn(t, "repo", "prune", "-q")
	mustCairn(t, "repo", "check", "-q")
}
