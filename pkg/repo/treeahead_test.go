package repo_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/repotest"
	"github.com/cairnbackup/cairn/pkg/repo/tree"
)

// Loading one tree blob reads its neighbours in the same pack too: after
// the first load, the others are served even with the pack gone.
func TestTreeReadAhead(t *testing.T) {
	ctx := context.Background()
	r, url := repotest.Init(t)
	files := map[string][]byte{}
	for i := 0; i < 20; i++ {
		files[fmt.Sprintf("dir%02d/file", i)] = []byte{byte(i)}
	}
	sn, err := repotest.Backup(ctx, r, files)
	if err != nil {
		t.Fatal(err)
	}
	h := repotest.Open(t, url)
	root, err := tree.ReadAll(ctx, h, sn.Tree)
	if err != nil || len(root) != 20 {
		t.Fatalf("root: %d nodes, %v", len(root), err)
	}
	loc, ok := h.LocateBlob(repo.TreeBlob, sn.Tree)
	if !ok {
		t.Fatal("root tree not indexed")
	}
	packFile := filepath.Join(strings.TrimPrefix(url, "file://"), repo.PackKey(loc.Pack))
	if err := os.Rename(packFile, packFile+".moved"); err != nil {
		t.Fatal(err)
	}
	for _, n := range root {
		if _, err := h.LoadBlob(ctx, repo.TreeBlob, n.Subtree); err != nil {
			t.Fatalf("subtree %s not read ahead: %v", n.Name, err)
		}
	}
	// A fresh handle has nothing cached and reports the missing pack.
	if _, err := repotest.Open(t, url).LoadBlob(ctx, repo.TreeBlob, root[3].Subtree); err == nil {
		t.Fatal("tree blob loaded from a missing pack")
	}
}
