package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
	"github.com/cairnbackup/cairn/pkg/fsfixture"
)

// cairn runs the CLI in-process and returns exit code, stdout and stderr.
func cairn(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func mustCairn(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := cairn(t, args...)
	if code != 0 {
		t.Fatalf("cairn %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// summary decodes the last line of backup/restore --json output, which
// must be the summary, into v.
func summary(t *testing.T, out string, v any) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	var head struct{ Type string }
	if err := json.Unmarshal([]byte(last), &head); err != nil || head.Type != "summary" {
		t.Fatalf("last output line %q is not a summary (%v)", last, err)
	}
	if err := json.Unmarshal([]byte(last), v); err != nil {
		t.Fatal(err)
	}
}

func setupRepo(t *testing.T) (repoURL string) {
	t.Helper()
	dir := t.TempDir()
	repoURL = "file://" + filepath.Join(dir, "repo")
	t.Setenv(cli.EnvRepository, repoURL)
	t.Setenv(cli.EnvPassword, "correct horse")
	t.Setenv(cli.EnvPasswordFile, "")
	t.Setenv(cli.EnvKeyCacheDir, filepath.Join(dir, "keycache"))
	mustCairn(t, "repo", "init", "-q")
	return repoURL
}

func TestKeyCacheRemembersUnlockedKeys(t *testing.T) {
	setupRepo(t)
	cacheDir := os.Getenv(cli.EnvKeyCacheDir)
	entries := func() int {
		des, err := os.ReadDir(cacheDir)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return len(des)
	}
	if n := entries(); n != 1 {
		t.Fatalf("%d key cache entries after init, want 1", n)
	}
	mustCairn(t, "repo", "snapshots", "-q")
	if n := entries(); n != 1 {
		t.Fatalf("%d entries after an open through the cache, want still 1", n)
	}
	// Turned off by flag or environment: nothing is written.
	os.RemoveAll(cacheDir)
	mustCairn(t, "repo", "snapshots", "-q", "--no-key-cache")
	t.Setenv(cli.EnvKeyCache, "off")
	mustCairn(t, "repo", "snapshots", "-q")
	if n := entries(); n != 0 {
		t.Fatalf("%d entries with the cache turned off, want 0", n)
	}
	// A wrong password is still refused while an entry exists.
	t.Setenv(cli.EnvKeyCache, "")
	mustCairn(t, "repo", "snapshots", "-q")
	t.Setenv(cli.EnvPassword, "wrong horse")
	if code, _, _ := cairn(t, "repo", "snapshots"); code != cli.ExitWrongPassword {
		t.Fatalf("wrong password with a cached key: exit %d, want %d", code, cli.ExitWrongPassword)
	}
}

func TestBackupRestoreEndToEnd(t *testing.T) {
	setupRepo(t)
	src := filepath.Join(t.TempDir(), "data")
	if err := fsfixture.Build(src, 3<<20); err != nil {
		t.Fatal(err)
	}
	var b1 struct {
		SnapshotID string
		Stats      struct{ FilesRead, FilesUnchanged int64 }
	}
	summary(t, mustCairn(t, "repo", "backup", "--json", "--tag", "first", src), &b1)
	if b1.Stats.FilesRead == 0 || b1.Stats.FilesUnchanged != 0 {
		t.Fatalf("first backup stats %+v", b1.Stats)
	}
	var b2 struct {
		SnapshotID, Parent string
		Stats              struct{ FilesRead, FilesUnchanged int64 }
	}
	summary(t, mustCairn(t, "repo", "backup", "--json", src), &b2)
	if b2.Parent != b1.SnapshotID || b2.Stats.FilesRead != 0 || b2.Stats.FilesUnchanged == 0 {
		t.Fatalf("second backup did not reuse the first: %+v", b2)
	}

	var list []struct {
		ID      string
		ShortID string `json:"short_id"`
		Tags    []string
		Paths   []string
	}
	if err := json.Unmarshal([]byte(mustCairn(t, "repo", "snapshots", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || len(list[0].Tags) != 1 || list[0].Tags[0] != "first" || list[0].Paths[0] != src {
		t.Fatalf("snapshots: %+v", list)
	}
	if out := mustCairn(t, "repo", "snapshots", "--tag", "first"); !strings.Contains(out, "1 snapshots") {
		t.Fatalf("tag filter: %s", out)
	}

	target := t.TempDir()
	mustCairn(t, "repo", "restore", "-q", "--target", target, b1.SnapshotID[:8])
	if err := fsfixture.Compare(src, filepath.Join(target, src)); err != nil {
		t.Fatalf("restored tree differs:\n%v", err)
	}
	// A second restore of "latest" into the same place writes nothing.
	var rr struct {
		Stats struct{ BytesWritten, FilesSkipped int64 }
	}
	summary(t, mustCairn(t, "repo", "restore", "--json", "--target", target, "latest"), &rr)
	if rr.Stats.BytesWritten != 0 || rr.Stats.FilesSkipped == 0 {
		t.Fatalf("rerun restore: %+v", rr.Stats)
	}
}

func TestExitCodes(t *testing.T) {
	repoURL := setupRepo(t)
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644)

	cases := []struct {
		name string
		env  map[string]string
		args []string
		code int
		msg  string
	}{
		{"no command", nil, []string{"repo"}, cli.ExitUsage, "no command"},
		{"unknown command", nil, []string{"repo", "frobnicate"}, cli.ExitUsage, "unknown command"},
		{"bad flag", nil, []string{"repo", "backup", "--no-such-flag", src}, cli.ExitUsage, "unknown flag"},
		{"missing path", nil, []string{"repo", "backup", filepath.Join(src, "nope")}, cli.ExitUsage, "cannot back up"},
		{"wrong password", map[string]string{cli.EnvPassword: "wrong"}, []string{"repo", "snapshots"}, cli.ExitWrongPassword, "password"},
		{"no password", map[string]string{cli.EnvPassword: ""}, []string{"repo", "snapshots"}, cli.ExitUsage, "password"},
		{"no repository", map[string]string{cli.EnvRepository: "file://" + t.TempDir()}, []string{"repo", "snapshots"}, cli.ExitNoRepository, "no repository"},
		{"no repo given", map[string]string{cli.EnvRepository: ""}, []string{"repo", "snapshots"}, cli.ExitUsage, "--repo"},
		{"init twice", nil, []string{"repo", "init", "--repo", repoURL}, cli.ExitFailure, "already exists"},
		{"bad pattern", nil, []string{"repo", "backup", "--exclude", "[", src}, cli.ExitUsage, "pattern"},
		{"restore without target", nil, []string{"repo", "restore", "latest"}, cli.ExitUsage, "--target"},
		{"unknown snapshot", nil, []string{"repo", "restore", "--target", t.TempDir(), "deadbeef"}, cli.ExitFailure, "no snapshot"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				if v == "" {
					os.Unsetenv(k)
					t.Cleanup(func() {
						os.Setenv(k, map[string]string{cli.EnvPassword: "correct horse", cli.EnvRepository: repoURL}[k])
					})
				} else {
					t.Setenv(k, v)
				}
			}
			code, _, errs := cairn(t, c.args...)
			if code != c.code || !strings.Contains(errs, c.msg) {
				t.Fatalf("exit %d (want %d), stderr %q (want it to mention %q)", code, c.code, errs, c.msg)
			}
			if strings.Contains(errs, "correct horse") {
				t.Fatal("the password appeared in the output")
			}
		})
	}
}

func TestKeyCommands(t *testing.T) {
	setupRepo(t)
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("second password\n"), 0o600)
	mustCairn(t, "repo", "key", "add", "-q", "--new-password-file", pwFile)
	var keys struct{ Keys []struct{ ID string } }
	if err := json.Unmarshal([]byte(mustCairn(t, "repo", "key", "list", "--json")), &keys); err != nil {
		t.Fatal(err)
	}
	if len(keys.Keys) != 2 {
		t.Fatalf("%d keys after add, want 2", len(keys.Keys))
	}
	// The new password opens the repository, via --password-file.
	t.Setenv(cli.EnvPassword, "")
	os.Unsetenv(cli.EnvPassword)
	mustCairn(t, "repo", "snapshots", "--password-file", pwFile)
	// Change it, and the old one stops working.
	t.Setenv("CAIRN_NEW_PASSWORD", "third password")
	mustCairn(t, "repo", "key", "passwd", "--password-file", pwFile)
	if code, _, _ := cairn(t, "repo", "snapshots", "--password-file", pwFile); code != cli.ExitWrongPassword {
		t.Fatalf("old password still works after passwd (exit %d)", code)
	}
	t.Setenv(cli.EnvPassword, "third password")
	mustCairn(t, "repo", "snapshots")
}

func TestInterruptedExitCode(t *testing.T) {
	setupRepo(t)
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // as if SIGINT arrived
	var out, errb bytes.Buffer
	code := run(ctx, []string{"repo", "backup", src}, strings.NewReader(""), &out, &errb)
	if code != cli.ExitInterrupted || !strings.Contains(errb.String(), "interrupted") {
		t.Fatalf("exit %d, stderr %q; want %d and 'interrupted'", code, errb.String(), cli.ExitInterrupted)
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		code, out, errs := cairn(t, arg)
		if code != cli.ExitOK || errs != "" {
			t.Fatalf("cairn %s: exit %d, stderr %q", arg, code, errs)
		}
		if !strings.HasPrefix(out, "cairn ") || !strings.Contains(out, "commit ") {
			t.Fatalf("cairn %s printed %q, want the version and commit", arg, out)
		}
	}
}

func TestTriggerUsageErrors(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "")
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"trigger"}, "--backup-configuration and --session are required"},
		{[]string{"trigger", "--backup-configuration", "app", "--session", "daily"}, "--namespace"},
		{[]string{"trigger", "--bogus"}, "unknown flag"},
	} {
		code, _, errs := cairn(t, c.args...)
		if code != cli.ExitUsage || !strings.Contains(errs, c.msg) {
			t.Errorf("cairn %v: exit %d, stderr %q (want exit %d mentioning %q)", c.args, code, errs, cli.ExitUsage, c.msg)
		}
	}
}
