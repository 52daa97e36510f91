package maint_test

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/maint"
	"github.com/cairnbackup/cairn/pkg/repo/repotest"
)

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func repoDir(url string) string { return strings.TrimPrefix(url, "file://") }

// objectsUnder lists stored object names below prefix (e.g. "data/").
func objectsUnder(t *testing.T, url, prefix string) []string {
	t.Helper()
	var out []string
	root := repoDir(url)
	filepath.Walk(filepath.Join(root, prefix), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

func flipByte(t *testing.T, url, name string, at int) {
	t.Helper()
	p := filepath.Join(repoDir(url), name)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if at < 0 {
		at += len(data)
	}
	data[at] ^= 0x40
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func problemsFor(res *maint.CheckResult, name string) []maint.Problem {
	var out []maint.Problem
	for _, p := range res.Problems {
		if strings.Contains(p.Object, name) || strings.Contains(p.Message, name) {
			out = append(out, p)
		}
	}
	return out
}

func TestCheckCleanRepository(t *testing.T) {
	ctx := context.Background()
	r, _ := repotest.Init(t)
	if _, err := repotest.Backup(ctx, r, map[string][]byte{"a": randBytes(300 << 10), "d/b": []byte("b")}); err != nil {
		t.Fatal(err)
	}
	res, err := maint.Check(ctx, r, maint.CheckOptions{ReadData: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 0 || res.Snapshots != 1 || res.PacksRead == 0 {
		t.Fatalf("clean repository: %+v", res)
	}
}

// A flipped byte in a pack is reported by check --read-data with the pack's
// name, and LoadBlob refuses the blob instead of returning bad data.
func TestFlippedPackByte(t *testing.T) {
	ctx := context.Background()
	r, url := repotest.Init(t)
	data := randBytes(50 << 10)
	sn, err := repotest.Backup(ctx, r, map[string][]byte{"f": data})
	if err != nil {
		t.Fatal(err)
	}
	id := r.Hash(data)
	loc, ok := r.LocateBlob(repo.DataBlob, id)
	if !ok {
		t.Fatal("blob not indexed")
	}
	name := repo.PackKey(loc.Pack)
	flipByte(t, url, name, int(loc.Offset)+100)

	r2 := repotest.Open(t, url)
	if _, err := r2.LoadBlob(ctx, repo.DataBlob, id); !errors.Is(err, repo.ErrCorrupt) || !strings.Contains(err.Error(), name) {
		t.Fatalf("LoadBlob of damaged blob: %v; want ErrCorrupt naming %s", err, name)
	}
	if _, err := repotest.ReadTree(ctx, r2, sn.Tree); err == nil {
		t.Fatal("reading the snapshot succeeded despite the damaged blob")
	}
	res, err := maint.Check(ctx, r2, maint.CheckOptions{ReadData: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(problemsFor(res, name)) == 0 {
		t.Fatalf("check --read-data did not name %s: %+v", name, res.Problems)
	}
}

// Damage to index, snapshot and pack-header bytes is reported by name.
func TestFlippedMetadataBytes(t *testing.T) {
	ctx := context.Background()
	r, url := repotest.Init(t)
	if _, err := repotest.Backup(ctx, r, map[string][]byte{"f": randBytes(10 << 10)}); err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"index/", "snapshots/"} {
		objs := objectsUnder(t, url, prefix)
		if len(objs) != 1 {
			t.Fatalf("%s: %v", prefix, objs)
		}
		flipByte(t, url, objs[0], 20)
		r2 := repotest.Open(t, url)
		res, err := maint.Check(ctx, r2, maint.CheckOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(problemsFor(res, objs[0])) == 0 {
			t.Fatalf("check did not name %s: %+v", objs[0], res.Problems)
		}
		flipByte(t, url, objs[0], 20) // repair for the next round
	}
	// The pack header: structure check passes (index is intact), read-data names the pack.
	packs := objectsUnder(t, url, "data/")
	for _, p := range packs {
		flipByte(t, url, p, -10)
	}
	r3 := repotest.Open(t, url)
	res, err := maint.Check(ctx, r3, maint.CheckOptions{ReadData: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range packs {
		if len(problemsFor(res, p)) == 0 {
			t.Fatalf("check --read-data did not name %s: %+v", p, res.Problems)
		}
	}
}

// A truncated pack is found by the structural check, without reading data.
func TestTruncatedPack(t *testing.T) {
	ctx := context.Background()
	r, url := repotest.Init(t)
	if _, err := repotest.Backup(ctx, r, map[string][]byte{"f": randBytes(200 << 10)}); err != nil {
		t.Fatal(err)
	}
	var dataPack string
	for _, p := range objectsUnder(t, url, "data/") {
		if st, _ := os.Stat(filepath.Join(repoDir(url), p)); st.Size() > 100<<10 {
			dataPack = p
		}
	}
	if err := os.Truncate(filepath.Join(repoDir(url), dataPack), 1000); err != nil {
		t.Fatal(err)
	}
	res, err := maint.Check(ctx, repotest.Open(t, url), maint.CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(problemsFor(res, dataPack)) == 0 {
		t.Fatalf("check did not report truncated %s: %+v", dataPack, res.Problems)
	}
}

func TestCheckReadSubsetsCoverEveryPack(t *testing.T) {
	ctx := context.Background()
	r, _ := repotest.Init(t)
	files := map[string][]byte{}
	for i := 0; i < 8; i++ {
		files[string(rune('a'+i))] = randBytes(600 << 10)
	}
	if _, err := repotest.Backup(ctx, r, files); err != nil {
		t.Fatal(err)
	}
	total := 0
	for n := 1; n <= 3; n++ {
		res, err := maint.Check(ctx, r, maint.CheckOptions{ReadData: true, SubsetN: n, SubsetM: 3})
		if err != nil || len(res.Problems) != 0 {
			t.Fatalf("subset %d/3: %v %+v", n, err, res)
		}
		total += res.PacksRead
	}
	all, _ := maint.Check(ctx, r, maint.CheckOptions{ReadData: true})
	if total != all.PacksRead || total != all.Packs {
		t.Fatalf("subsets read %d packs, all %d, stored %d", total, all.PacksRead, all.Packs)
	}
	if _, err := maint.Check(ctx, r, maint.CheckOptions{ReadData: true, SubsetN: 4, SubsetM: 3}); err == nil {
		t.Fatal("subset 4/3 accepted")
	}
	half, err := maint.Check(ctx, r, maint.CheckOptions{ReadData: true, ReadFraction: 0.5})
	if err != nil || half.PacksRead >= all.Packs || half.PacksRead == 0 {
		t.Fatalf("fraction 0.5 read %d of %d packs (%v)", half.PacksRead, all.Packs, err)
	}
}
