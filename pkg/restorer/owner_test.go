package restorer_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/pkg/archiver"
	"github.com/cairnbackup/cairn/pkg/fsfixture"
	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/repotest"
	"github.com/cairnbackup/cairn/pkg/restorer"
)

// childEnv carries a restore for the test binary to run as a child process
// with fewer capabilities: the repository URL, the root tree, the target
// and the DeleteExtra path, separated by "|".
const childEnv = "CAIRN_RESTORER_TEST_CHILD"

// TestRestoreOwnersWithOnlyChownAndFowner restores a tree of many owners
// as the restore Job of such a snapshot runs: root with only CAP_CHOWN and
// CAP_FOWNER (no CAP_DAC_OVERRIDE, so root may write only into what it
// owns). Into an empty directory, and over a damaged copy whose
// directories and files belong to other users with no write permission
// for others (an extra directory of yet another user below one of them
// is removed by DeleteExtra), every entry ends with the snapshot's owner,
// mode, times and bytes.
func TestRestoreOwnersWithOnlyChownAndFowner(t *testing.T) {
	if spec := os.Getenv(childEnv); spec != "" {
		restoreAsChild(t, spec)
		return
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and setpriv (util-linux) to run a restore with only CHOWN and FOWNER")
	}
	r, url := repotest.Init(t)
	src := filepath.Join(t.TempDir(), "src")
	if err := fsfixture.Build(src, 2<<20); err != nil {
		t.Fatal(err)
	}
	// Directories of other users that others may not write into.
	for _, o := range []struct {
		path     string
		uid, gid int
		mode     os.FileMode
	}{{"dir/a", 1001, 2000, 0o750}, {"dir", 1002, 1002, 0o755}, {"links", 1003, 2000, 0o700}} {
		p := filepath.Join(src, o.path)
		fi, _ := os.Lstat(p)
		if err := os.Lchown(p, o.uid, o.gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, o.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	sn, st, err := archiver.Backup(context.Background(), r, archiver.Options{Paths: []string{src}}, archiver.SnapshotOptions{})
	if err != nil || st.Warnings != 0 {
		t.Fatalf("backup: %v, %d warnings", err, st.Warnings)
	}

	run := func(target string) {
		t.Helper()
		cmd := exec.Command(setpriv, "--bounding-set=-all,+chown,+fowner", "--inh-caps=-all", "--",
			os.Args[0], "-test.run=^TestRestoreOwnersWithOnlyChownAndFowner$", "-test.v")
		cmd.Env = append(os.Environ(), childEnv+"="+strings.Join([]string{url, sn.Tree.String(), target, src}, "|"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("restore with only CHOWN and FOWNER: %v\n%s", err, out)
		}
	}
	fresh := t.TempDir()
	run(fresh)
	if err := fsfixture.Compare(src, filepath.Join(fresh, src)); err != nil {
		t.Fatalf("restored into an empty directory:\n%v", err)
	}

	// Damage the copy: new bytes in a file of user 1234 (0640), and a
	// directory of user 1005 with a file, below dir/a (user 1001, 0750).
	got := filepath.Join(fresh, src)
	deep := filepath.Join(got, "dir/a/deep.bin")
	if err := os.WriteFile(deep, []byte("damaged"), 0o640); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(got, "dir/a/junk")
	if err := os.MkdirAll(junk, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(junk, "f"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(junk, "f"), junk} {
		if err := os.Lchown(p, 1005, 1005); err != nil {
			t.Fatal(err)
		}
	}
	run(fresh)
	if err := fsfixture.Compare(src, got); err != nil {
		t.Fatalf("restored over the damaged copy:\n%v", err)
	}
}

// restoreAsChild is the child's half: check the capabilities it was given,
// then restore.
func restoreAsChild(t *testing.T, spec string) {
	parts := strings.Split(spec, "|")
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		t.Fatal(err)
	}
	if want := uint32(1<<unix.CAP_CHOWN | 1<<unix.CAP_FOWNER); data[0].Effective != want || data[1].Effective != 0 {
		t.Fatalf("child runs with effective capabilities %#x %#x, want only CHOWN and FOWNER (%#x)", data[0].Effective, data[1].Effective, want)
	}
	r := repotest.Open(t, parts[0])
	tree, err := repo.ParseID(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	st, err := restorer.Run(context.Background(), r, tree, restorer.Options{Target: parts[2], DeleteExtra: []string{parts[3]},
		Warn: func(path string, err error) { t.Errorf("warning: %s: %v", path, err) }})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("restored with only CHOWN and FOWNER: %+v\n", st)
}
