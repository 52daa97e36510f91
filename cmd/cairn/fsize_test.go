package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBackupUnderFileSizeLimitLeavesNoPartialObject is issue 14 item 1's
// reproduction: after a full backup, a backup of a small change under
// `ulimit -f 0` (every write fails, as on a full disk) must fail without
// leaving any object, such as a 0-byte pack, under a final name:
// `check --read-data` stays clean and the next backup works.
func TestBackupUnderFileSizeLimitLeavesNoPartialObject(t *testing.T) {
	setupRepo(t)
	src := filepath.Join(t.TempDir(), "data")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "a.txt"), []byte(strings.Repeat("first backup\n", 1000)), 0o644)
	mustCairn(t, "repo", "backup", "-q", src)
	os.WriteFile(filepath.Join(src, "b.txt"), []byte("a small change"), 0o644)

	cmd := exec.Command("/bin/sh", "-c", `ulimit -f 0 && exec "$0" "$@"`, os.Args[0], "repo", "backup", "-q", src)
	cmd.Env = append(os.Environ(), envRunMain+"=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("backup under ulimit -f 0 succeeded:\n%s", out)
	}
	t.Logf("backup under ulimit -f 0: %v: %s", err, out)

	if out := mustCairn(t, "repo", "check", "--read-data"); !strings.Contains(out, "no problems found") {
		t.Fatalf("check after the failed backup:\n%s", out)
	}
	mustCairn(t, "repo", "backup", "-q", src)
	mustCairn(t, "repo", "check", "--read-data", "-q")
}
