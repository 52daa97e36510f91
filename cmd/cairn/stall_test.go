package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
	"github.com/cairnbackup/cairn/pkg/fsfixture"
	"github.com/cairnbackup/cairn/pkg/repo/repotest"
	"github.com/cairnbackup/cairn/pkg/repo/repotest/stallproxy"
)

// stalledStore starts MinIO with a repository in it, points the cairn
// environment at it, and returns a source tree and a function that runs
// the real main in a child process through a proxy that stops answering
// at the first request containing match, sends SIGTERM once it did, and
// returns the exit code.
func stalledStore(t *testing.T) (src string, runStalled func(match string, args ...string) int) {
	srv := repotest.MinIO(t)
	store := strings.TrimPrefix(srv.Endpoint, "http://")
	t.Setenv(cli.EnvRepository, repotest.S3URL(store, srv.Region))
	t.Setenv(cli.EnvPassword, "correct horse")
	t.Setenv(cli.EnvPasswordFile, "")
	mustCairn(t, "repo", "init", "-q")
	src = filepath.Join(t.TempDir(), "data")
	if err := fsfixture.Build(src, 4<<20); err != nil {
		t.Fatal(err)
	}
	return src, func(match string, args ...string) int {
		t.Helper()
		proxy := stallproxy.Start(t, store, match, 0)
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), envRunMain+"=1", cli.EnvRepository+"="+repotest.S3URL(proxy.Addr, srv.Region))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case <-proxy.Stalled:
		case err := <-exited:
			t.Fatalf("cairn %s ended before the store stopped answering: %v\n%s", strings.Join(args, " "), err, stderr.String())
		case <-time.After(time.Minute):
			t.Fatal("no request reached the store")
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("cairn %s ignored SIGTERM for 10 s while the store did not answer\n%s", strings.Join(args, " "), stderr.String())
		}
		return cmd.ProcessState.ExitCode()
	}
}

// TestSIGTERMDuringStalledUpload: MinIO stops answering while a backup
// uploads its first pack (issue 14 item 5: a Job's deadline or deletion
// sends SIGTERM). The real main must exit within seconds with the
// interrupted code, and the repository must check clean.
func TestSIGTERMDuringStalledUpload(t *testing.T) {
	src, runStalled := stalledStore(t)
	if code := runStalled("PUT /cairn/repo/data/", "repo", "backup", "-q", src); code != cli.ExitInterrupted {
		t.Fatalf("exit %d, want %d (interrupted)", code, cli.ExitInterrupted)
	}
	out := mustCairn(t, "repo", "check", "--read-data")
	if !strings.Contains(out, "checked 0 snapshots") {
		t.Fatalf("check after the interrupted backup:\n%s", out)
	}
}

// TestSIGTERMDuringStalledRestore: the same for a restore Job whose store
// stops answering while it reads packs.
func TestSIGTERMDuringStalledRestore(t *testing.T) {
	src, runStalled := stalledStore(t)
	mustCairn(t, "repo", "backup", "-q", src)
	target := t.TempDir()
	if code := runStalled("GET /cairn/repo/data/", "repo", "restore", "-q", "latest", "--target", target); code != cli.ExitInterrupted {
		t.Fatalf("exit %d, want %d (interrupted)", code, cli.ExitInterrupted)
	}
}
