package repo_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo"
)

const diskFullChildEnv = "CAIRN_TEST_DISKFULL_CHILD_REPO"

// runDiskFullChild saves blobs with a 3 MiB file-size limit, so writing a
// pack fails like on a full disk, and prints what SaveBlob and Flush said.
func runDiskFullChild(url string) {
	ctx := context.Background()
	lim := syscall.Rlimit{Cur: 3 << 20, Max: 3 << 20}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		fmt.Println("setrlimit:", err)
		os.Exit(3)
	}
	be, _ := openBackendNoTest(url)
	opts := testOpts
	opts.PackSize = 8 << 20 // a pack outgrows the limit
	r, err := repo.Open(ctx, be, "secret", opts)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(3)
	}
	var saveErr error
	for i := 0; i < 100 && saveErr == nil; i++ {
		data := randBytes(100 << 10)
		_, saveErr = r.SaveBlob(ctx, repo.DataBlob, r.Hash(data), data)
	}
	fmt.Printf("save: %v\nflush: %v\n", saveErr, r.Flush(ctx))
	os.Exit(0)
}

// On a full disk SaveBlob reports the write error, the handle refuses to
// Flush (so no snapshot can refer to lost blobs), and the repository stays
// consistent.
func TestDiskFullFailsCleanly(t *testing.T) {
	if url := os.Getenv(diskFullChildEnv); url != "" {
		runDiskFullChild(url)
		return
	}
	_, url := newRepo(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestDiskFullFailsCleanly$")
	cmd.Env = append(os.Environ(), diskFullChildEnv+"="+url)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 2 || !strings.Contains(lines[len(lines)-2], "file too large") || strings.HasSuffix(lines[len(lines)-1], "<nil>") {
		t.Fatalf("want SaveBlob to fail with the write error and Flush to fail too, got:\n%s", out)
	}
	t.Logf("child:\n%s", out)
	r, err := repo.Open(context.Background(), openBackend(t, url, false), "secret", testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if n := r.Index().Count(repo.DataBlob); n != 0 {
		t.Fatalf("%d blobs indexed after the failed backup", n)
	}
}
