package maint_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/repo/maint"
	"github.com/cairnbackup/cairn/pkg/repo/repotest"
)

// killChildEnv makes the test binary act as a backup process (see
// TestMain-less re-exec in TestKilledBackupLeavesRepositoryConsistent).
const killChildEnv = "CAIRN_TEST_KILL_CHILD_REPO"

// runBackupChild backs up fresh random files in a loop until killed.
func runBackupChild(url string) {
	ctx := context.Background()
	be, err := backend.Open(ctx, url, backend.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for i := 0; ; i++ {
		r, err := repo.Open(ctx, be, repotest.Password, repotest.Options)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		files := map[string][]byte{}
		for f := 0; f < 24; f++ {
			files[fmt.Sprintf("d%d/f%d", i, f)] = randBytes(200 << 10)
		}
		if _, err := repotest.Backup(ctx, r, files); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		r.Close()
	}
}

// A backup process killed with SIGKILL at arbitrary instants never leaves
// the repository inconsistent: every snapshot reads back, check finds no
// problem (only unindexed packs, as notes), and prune removes the debris.
func TestKilledBackupLeavesRepositoryConsistent(t *testing.T) {
	if url := os.Getenv(killChildEnv); url != "" {
		runBackupChild(url)
		return
	}
	ctx := context.Background()
	_, url := repotest.Init(t)
	for round := 0; round < 8; round++ {
		delay := 30 + rand.IntN(400)
		cmd := exec.Command(os.Args[0], "-test.run=^TestKilledBackupLeavesRepositoryConsistent$")
		cmd.Env = append(os.Environ(), killChildEnv+"="+url)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(delay) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		r := repotest.Open(t, url)
		res, err := maint.Check(ctx, r, maint.CheckOptions{ReadData: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Problems) != 0 {
			t.Fatalf("round %d (killed after %d ms): %+v", round, delay, res.Problems)
		}
		snaps, _, err := r.ListSnapshots(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, sn := range snaps {
			if _, err := repotest.ReadTree(ctx, r, sn.Tree); err != nil {
				t.Fatalf("round %d: snapshot %s: %v", round, sn.ID.Short(), err)
			}
		}
		t.Logf("round %d: killed after %d ms: %d snapshots, %d packs, %d notes", round, delay, len(snaps), res.Packs, len(res.Notes))
	}
	// Prune (clock moved past two grace periods) removes every leftover.
	now := time.Now().Add(time.Hour)
	r := repotest.Open(t, url)
	before, _ := maint.Check(ctx, r, maint.CheckOptions{})
	prune(t, repotest.Open(t, url), now)
	prune(t, repotest.Open(t, url), now.Add(2*grace))
	after, err := maint.Check(ctx, repotest.Open(t, url), maint.CheckOptions{ReadData: true})
	if err != nil || len(after.Problems) != 0 || len(after.Notes) != 0 {
		t.Fatalf("after prune: %v problems=%+v notes=%v", err, after.Problems, after.Notes)
	}
	if tmp, _ := r.ListStaleTemporary(ctx, now); len(tmp) != 0 {
		t.Fatalf("partial pack files remain after prune: %v", tmp)
	}
	t.Logf("prune removed %d leftover packs (%d notes before)", before.Packs-after.Packs, len(before.Notes))
}
