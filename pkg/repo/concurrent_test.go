package repo_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/repotest"
)

// Two processes (two handles) back up overlapping data into one repository
// at the same time, each from several goroutines. Both snapshots must be
// complete and readable afterwards, from a third handle.
func TestConcurrentBackups(t *testing.T) {
	ctx := context.Background()
	_, url := repotest.Init(t)
	shared := map[string][]byte{}
	for i := 0; i < 20; i++ {
		shared[fmt.Sprintf("shared/%02d", i)] = randBytes(100 << 10)
	}
	var wg sync.WaitGroup
	snaps := make([]*repo.Snapshot, 2)
	errs := make([]error, 2)
	inputs := make([]map[string][]byte, 2)
	for b := 0; b < 2; b++ {
		files := map[string][]byte{}
		for k, v := range shared {
			files[k] = v
		}
		for i := 0; i < 10; i++ {
			files[fmt.Sprintf("own%d/%02d", b, i)] = randBytes(80 << 10)
		}
		inputs[b] = files
		h := repotest.Open(t, url)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Hammer SaveBlob from several goroutines first, then build the snapshot.
			var inner sync.WaitGroup
			for g := 0; g < 4; g++ {
				inner.Add(1)
				go func() {
					defer inner.Done()
					for _, data := range shared {
						if _, err := h.SaveBlob(ctx, repo.DataBlob, h.Hash(data), data); err != nil {
							errs[b] = err
						}
					}
				}()
			}
			inner.Wait()
			snaps[b], errs[b] = repotest.Backup(ctx, h, files)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	r := repotest.Open(t, url)
	for b, sn := range snaps {
		got, err := repotest.ReadTree(ctx, r, sn.Tree)
		if err != nil {
			t.Fatalf("snapshot %d: %v", b, err)
		}
		if len(got) != len(inputs[b]) {
			t.Fatalf("snapshot %d has %d files, want %d", b, len(got), len(inputs[b]))
		}
		for p, want := range inputs[b] {
			if string(got[p]) != string(want) {
				t.Fatalf("snapshot %d: %s differs", b, p)
			}
		}
	}
}
