package runner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/repo"
)

// TestCheckReportsHealthThenDamage: a clean repository checks clean with
// every pack read; a deleted pack is a report naming it and ErrDamaged.
func TestCheckReportsHealthThenDamage(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	if _, err := f.runner.Backup(ctx, f.backupRequest(f.snapshot("s1"), "dump")); err != nil {
		t.Fatal(err)
	}
	req := CheckRequest{Namespace: appNS, Repository: repoName, ReadFraction: 1}
	rep, err := f.runner.Check(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ProblemCount != 0 || rep.Snapshots != 1 || rep.Packs == 0 || rep.PacksRead != rep.Packs {
		t.Fatalf("clean report %+v", rep)
	}
	packs, _ := filepath.Glob(filepath.Join(f.storageDir, "shop/deployment/shop", repo.PacksPrefix, "*", "*"))
	if len(packs) == 0 {
		t.Fatal("no pack files")
	}
	if err := os.Remove(packs[0]); err != nil {
		t.Fatal(err)
	}
	rep, err = f.runner.Check(ctx, req)
	if !errors.Is(err, ErrDamaged) || rep == nil || rep.ProblemCount == 0 || !strings.Contains(rep.Problems[0].Object, filepath.Base(packs[0])) {
		t.Fatalf("damaged: report %+v, err %v", rep, err)
	}
	if !strings.Contains(err.Error(), "cairn repo check --read-data") {
		t.Fatalf("the error does not say what to run: %v", err)
	}
	back, err := jobs.ParseCheckReport(rep.Encode())
	if err != nil || back.ProblemCount != rep.ProblemCount {
		t.Fatalf("report round trip %+v %v", back, err)
	}
}

// TestCheckOfMissingRepository: nothing backed up yet is an error without
// a report (no verdict), not damage.
func TestCheckOfMissingRepository(t *testing.T) {
	f := newFixture(t, nil)
	rep, err := f.runner.Check(context.Background(), CheckRequest{Namespace: appNS, Repository: repoName})
	if rep != nil || err == nil || errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("report %+v, err %v", rep, err)
	}
}
