package runnercmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/runner"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestCheckCommand runs `cairn check` as the check Job does: a clean
// repository prints a report and exits 0; one with a pack gone exits 12
// with a report naming it; bad flags are usage errors.
func TestCheckCommand(t *testing.T) {
	_, _, data := cluster(t)
	ctx := context.Background()
	old := terminationLog
	t.Cleanup(func() { terminationLog = old })
	terminationLog = filepath.Join(t.TempDir(), "termination-log")
	var out, errOut bytes.Buffer
	if err := Backup(ctx, []string{"--backup-session=bs", "--paths=" + data, "--snapshot=s1", "--component=dump"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := Check(ctx, []string{"--repository=repo", "--read-data-fraction=1"}, &out, &errOut); err != nil {
		t.Fatalf("check: %v", err)
	}
	rep, err := jobs.ParseCheckReport(bytes.TrimSpace(out.Bytes()))
	if err != nil || rep.ProblemCount != 0 || rep.Snapshots != 1 || rep.PacksRead != rep.Packs {
		t.Fatalf("report %q: %+v %v", out.String(), rep, err)
	}
	if logged, err := os.ReadFile(terminationLog); err != nil || !bytes.Equal(bytes.TrimSpace(logged), bytes.TrimSpace(out.Bytes())) {
		t.Fatalf("termination log %q (%v), want the report", logged, err)
	}

	rp, _ := newRunner("", "")
	st, _ := rp.Cairn.StorageV1alpha1().BackupStorages("ns").Get(ctx, "local", metav1.GetOptions{})
	packs, _ := filepath.Glob(filepath.Join(st.Spec.Storage.Local.MountPath, "app", "data", "*", "*"))
	if len(packs) == 0 {
		t.Fatal("no packs")
	}
	if err := os.Remove(packs[0]); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = Check(ctx, []string{"--repository=repo"}, &out, &errOut)
	if cli.CodeOf(err) != cli.ExitDamaged || !strings.Contains(out.String(), filepath.Base(packs[0])) {
		t.Fatalf("damaged: %v (code %d), report %q", err, cli.CodeOf(err), out.String())
	}

	fakeRunner(t, func(string, string) (*runner.Runner, error) {
		t.Fatal("a usage error reached the API")
		return nil, nil
	})
	for args, want := range map[string]string{"--namespace=ns": "--repository", "--repository=repo --read-data-fraction=2": "between 0 and 1"} {
		err := Check(ctx, strings.Fields(args), &out, &errOut)
		if cli.CodeOf(err) != cli.ExitUsage || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a usage error saying %q", args, err, want)
		}
	}
}
