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

// TestSIGTERMDuringStalledUpload: MinIO stops answering while a backup
// uploads its first pack (issue 14 item 5: a Job's deadline or deletion
// sends SIGTERM). The real main, in a child process, must exit within
// seconds with the interrupted code, and the repository must check clean.
func TestSIGTERMDuringStalledUpload(t *testing.T) {
	srv := repotest.MinIO(t)
	store := strings.TrimPrefix(srv.Endpoint, "http://")
	t.Setenv(cli.EnvRepository, repotest.S3URL(store, srv.Region))
	t.Setenv(cli.EnvPassword, "correct horse")
	t.Setenv(cli.EnvPasswordFile, "")
	mustCairn(t, "repo", "init", "-q")
	src := filepath.Join(t.TempDir(), "data")
	if err := fsfixture.Build(src, 4<<20); err != nil {
		t.Fatal(err)
	}
	proxy := stallproxy.Start(t, store, "PUT /cairn/repo/data/", 0)
	cmd := exec.Command(os.Args[0], "repo", "backup", "-q", src)
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
		t.Fatalf("backup ended before its upload hung: %v\n%s", err, stderr.String())
	case <-time.After(time.Minute):
		t.Fatal("no upload reached the store")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("cairn ignored SIGTERM for 10 s while its upload hung\n%s", stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != cli.ExitInterrupted {
		t.Fatalf("exit %d, want %d (interrupted)\n%s", code, cli.ExitInterrupted, stderr.String())
	}
	out := mustCairn(t, "repo", "check", "--read-data")
	if !strings.Contains(out, "checked 0 snapshots") {
		t.Fatalf("check after the interrupted backup:\n%s", out)
	}
}
