package storagecmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
	"github.com/cairnbackup/cairn/pkg/blob"
)

// run runs `cairn storage args...` with the result written to a file, and
// returns the result read back as the operator reads it, and the exit code.
func run(t *testing.T, args ...string) (*blob.JobResult, int) {
	t.Helper()
	resultFile := filepath.Join(t.TempDir(), "termination-log")
	var stdout, stderr bytes.Buffer
	err := Main(context.Background(), append(args, "--result-file", resultFile), &stdout, &stderr)
	code := cli.CodeOf(err)
	data, rerr := os.ReadFile(resultFile)
	if rerr != nil {
		return nil, code
	}
	if !bytes.Equal(bytes.TrimSpace(stdout.Bytes()), data) {
		t.Fatalf("stdout %q differs from the result file %q", stdout.String(), data)
	}
	res, perr := blob.ParseJobResult(data)
	if perr != nil {
		t.Fatalf("result %q: %v", data, perr)
	}
	return res, code
}

func TestStorageCommands(t *testing.T) {
	dir := t.TempDir()
	url := "file://" + dir
	id := []string{"--cluster", "c1", "--namespace", "ns", "--name", "bs", "--uid", "u1"}
	res, code := run(t, append([]string{"init", "--url", url}, id...)...)
	if code != cli.ExitOK || !res.Created || res.Storage.BackupStorage.UID != "u1" {
		t.Fatalf("init: %+v, exit %d", res, code)
	}
	if _, err := os.Stat(filepath.Join(dir, blob.MetadataKey)); err != nil {
		t.Fatal(err)
	}
	rec := []string{"record", "--url", url, "--dir", "apps/web", "--cluster", "c1", "--namespace", "apps", "--name", "web", "--uid", "r1", "--spec", `{"path":"apps/web","deletionPolicy":"WipeOut"}`}
	if res, code = run(t, rec...); code != cli.ExitOK || !res.Created || res.Repository.Spec.DeletionPolicy != "WipeOut" {
		t.Fatalf("record: %+v, exit %d", res, code)
	}
	if res, code = run(t, "wipe", "--url", url, "--prefix", "apps/"); code != cli.ExitOK || res.Deleted != 1 {
		t.Fatalf("wipe: %+v, exit %d", res, code)
	}
	// A volume that is not there: exit 1, and the result says why.
	if res, code = run(t, "wipe", "--url", "file://"+filepath.Join(dir, "missing")); code != cli.ExitFailure || res.Reason != blob.ReasonBucketNotFound {
		t.Fatalf("missing volume: %+v, exit %d", res, code)
	}
	for _, bad := range [][]string{{"init", "--url", url}, {"format", "--url", url}, {"record", "--url", url, "--dir", "../x", "--cluster", "c", "--namespace", "n", "--name", "r", "--uid", "u"}} {
		if _, code := run(t, bad...); code != cli.ExitUsage {
			t.Errorf("%v: exit %d, want a usage error", bad, code)
		}
	}
}
