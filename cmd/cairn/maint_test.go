package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
	"github.com/cairnbackup/cairn/pkg/fsfixture"
)

func TestLsForgetPruneCheckStats(t *testing.T) {
	repoURL := setupRepo(t)
	src := filepath.Join(t.TempDir(), "data")
	if err := fsfixture.Build(src, 2<<20); err != nil {
		t.Fatal(err)
	}
	mustCairn(t, "repo", "backup", "-q", src)
	os.WriteFile(filepath.Join(src, "new.txt"), fsfixture.Random(300<<10, 9), 0o644)
	mustCairn(t, "repo", "backup", "-q", src)

	out := mustCairn(t, "repo", "ls", "latest", filepath.Join(src, "links"))
	for _, want := range []string{"links/original", "links/hardlink", "links/symlink"} {
		if !strings.Contains(out, want) {
			t.Errorf("ls output lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "small.txt") {
		t.Errorf("ls below links/ lists small.txt:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(mustCairn(t, "repo", "ls", "--json", "latest", filepath.Join(src, "links/symlink"))), "\n")
	var ent struct{ Path, Type, Target string }
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &ent) != nil || ent.Type != "symlink" || ent.Target != "../small.txt" {
		t.Fatalf("ls --json of the symlink: %q", lines)
	}
	if code, _, _ := cairn(t, "repo", "ls", "latest", "/no/such/path"); code != cli.ExitFailure {
		t.Fatalf("ls of a missing path: exit %d", code)
	}

	var st struct {
		Snapshots  int
		DedupRatio float64 `json:"dedup_ratio"`
	}
	if err := json.Unmarshal([]byte(mustCairn(t, "repo", "stats", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Snapshots != 2 || st.DedupRatio < 1.5 {
		t.Fatalf("stats %+v: two near-identical snapshots should dedup ~2x", st)
	}

	if code, _, errs := cairn(t, "repo", "forget"); code != cli.ExitUsage || !strings.Contains(errs, "policy") {
		t.Fatalf("forget without policy: exit %d %s", code, errs)
	}
	var fr struct{ Removed []string }
	if err := json.Unmarshal([]byte(mustCairn(t, "repo", "forget", "--json", "--keep-last", "1")), &fr); err != nil {
		t.Fatal(err)
	}
	if len(fr.Removed) != 1 {
		t.Fatalf("forget --keep-last 1 removed %d snapshots", len(fr.Removed))
	}
	mustCairn(t, "repo", "prune", "-q", "--grace", "0s")
	out = mustCairn(t, "repo", "check", "--read-data")
	if !strings.Contains(out, "no problems found") {
		t.Fatalf("check after prune: %s", out)
	}

	// Flip a byte in every pack: check reports them with exit 12 and
	// restore refuses the data.
	packs, _ := filepath.Glob(filepath.Join(strings.TrimPrefix(repoURL, "file://"), "data", "*", "*"))
	if len(packs) == 0 {
		packs, _ = filepath.Glob(filepath.Join(strings.TrimPrefix(repoURL, "file://"), "data", "*"))
	}
	flipped := 0
	for _, p := range packs {
		fi, err := os.Stat(p)
		if err != nil || fi.IsDir() || fi.Size() < 100 {
			continue
		}
		b, _ := os.ReadFile(p)
		b[len(b)/3] ^= 0x40
		os.Chmod(p, 0o644)
		if os.WriteFile(p, b, 0o644) == nil {
			flipped++
		}
	}
	if flipped == 0 {
		t.Fatalf("found no pack files to damage among %v", packs)
	}
	code, out, _ := cairn(t, "repo", "check", "--read-data")
	if code != cli.ExitDamaged || !strings.Contains(out, "PROBLEM") {
		t.Fatalf("check on damaged packs: exit %d\n%s", code, out)
	}
	code, _, errs := cairn(t, "repo", "restore", "--target", t.TempDir(), "latest")
	if code != cli.ExitDamaged || !strings.Contains(errs, "corrupt") {
		t.Fatalf("restore of damaged data: exit %d, %s", code, errs)
	}
}

// TestPartialBackupExitCode backs up a directory together with a file that
// cannot be read (/proc/<pid>/mem fails with EIO at offset 0): the snapshot
// is written, the file is reported, and the exit code is 3.
func TestPartialBackupExitCode(t *testing.T) {
	setupRepo(t)
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "ok.txt"), []byte("fine"), 0o644)
	mem := filepath.Join("/proc", strconv.Itoa(os.Getpid()), "mem")
	if _, err := os.ReadFile(mem); err == nil {
		t.Skip("reading /proc/<pid>/mem works here; no unreadable file to test with")
	}
	code, out, errs := cairn(t, "repo", "backup", "--json", src, mem)
	if code != cli.ExitPartial || !strings.Contains(errs, "mem") {
		t.Fatalf("exit %d (want %d)\nstdout %s\nstderr %s", code, cli.ExitPartial, out, errs)
	}
	var res struct{ SnapshotID string }
	if summary(t, out, &res); res.SnapshotID == "" {
		t.Fatalf("no snapshot reported: %q", out)
	}
	if ls := mustCairn(t, "repo", "ls", res.SnapshotID); !strings.Contains(ls, "ok.txt") || strings.Contains(ls, "/mem") {
		t.Fatalf("snapshot content:\n%s", ls)
	}
}
