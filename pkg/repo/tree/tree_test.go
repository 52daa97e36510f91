package tree_test

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo/ident"
	"github.com/cairnbackup/cairn/pkg/repo/tree"
	"github.com/zeebo/blake3"
)

// memStore is a minimal Saver/Loader that records blob sizes.
type memStore struct {
	mu    sync.Mutex
	blobs map[ident.ID][]byte
}

func newStore() *memStore { return &memStore{blobs: map[ident.ID][]byte{}} }

func (m *memStore) Hash(b []byte) ident.ID { return ident.ID(blake3.Sum256(b)) }
func (m *memStore) SaveBlob(_ context.Context, _ ident.BlobType, id ident.ID, b []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blobs[id] = append([]byte(nil), b...)
	return len(b), nil
}
func (m *memStore) LoadBlob(_ context.Context, _ ident.BlobType, id ident.ID) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[id]
	if !ok {
		return nil, fmt.Errorf("blob %s not found", id)
	}
	return b, nil
}

func fileNode(i int) *tree.Node {
	return &tree.Node{Name: fmt.Sprintf("file-%07d", i), Type: tree.File, Mode: 0o640, UID: 1000, GID: 100,
		Size: uint64(i), ModTime: int64(i) * 1e9, ChangeTime: -5, Inode: uint64(i), DeviceID: 42, Links: 1,
		Content: []ident.ID{{byte(i)}, {byte(i >> 8)}}, Holes: []tree.Extent{{Offset: 0, Length: uint64(i / 2)}},
		Xattrs: []tree.Xattr{{Name: "user.x", Value: []byte("v")}}}
}

func TestWriterReaderLargeDirectory(t *testing.T) {
	ctx := context.Background()
	s := newStore()
	const n = 20000
	w := tree.NewWriter(s, 8<<10) // small pages force several index levels
	for i := 0; i < n; i++ {
		if err := w.Add(ctx, fileNode(i)); err != nil {
			t.Fatal(err)
		}
	}
	ref, err := w.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	maxBlob := 0
	for _, b := range s.blobs {
		maxBlob = max(maxBlob, len(b))
	}
	if len(s.blobs) < 100 || maxBlob > 8<<10+64 {
		t.Fatalf("%d blobs, largest %d bytes: want many bounded pages", len(s.blobs), maxBlob)
	}
	r := tree.NewReader(s, ref)
	pages := 0
	r.OnBlob = func(ident.ID) { pages++ }
	for i := 0; ; i++ {
		got, err := r.Next(ctx)
		if err == io.EOF {
			if i != n {
				t.Fatalf("read %d nodes, want %d", i, n)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if want := fileNode(i); !reflect.DeepEqual(got, want) {
			t.Fatalf("node %d: got %+v want %+v", i, got, want)
		}
	}
	if pages != len(s.blobs) {
		t.Fatalf("reader visited %d blobs, %d stored", pages, len(s.blobs))
	}
	// Same nodes, same reference: unchanged directories dedup.
	w2 := tree.NewWriter(s, 8<<10)
	for i := 0; i < n; i++ {
		w2.Add(ctx, fileNode(i))
	}
	if ref2, _ := w2.Close(ctx); ref2 != ref {
		t.Fatal("encoding is not deterministic")
	}
}

func TestWriterRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	w := tree.NewWriter(newStore(), 0)
	if err := w.Add(ctx, &tree.Node{Name: "b", Type: tree.File}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*tree.Node{
		{Name: "a", Type: tree.File},   // out of order
		{Name: "b", Type: tree.File},   // duplicate
		{Name: "c/d", Type: tree.File}, // slash
		{Name: "..", Type: tree.Dir},   // escape
		{Name: "e", Type: tree.Dir},    // dir without subtree
		{Name: "f", Type: 99},          // unknown type
		{Name: "g", Type: tree.Symlink, Content: []ident.ID{{1}}},
		{Name: "h", Type: tree.File, Size: 10, Holes: []tree.Extent{{Offset: 5, Length: 10}}},
	} {
		if err := w.Add(ctx, n); err == nil {
			t.Errorf("Add(%+v) accepted", n)
		}
	}
}

func TestEmptyAndSmallDirectories(t *testing.T) {
	ctx := context.Background()
	s := newStore()
	ref, err := tree.NewWriter(s, 0).Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := tree.ReadAll(ctx, s, ref)
	if err != nil || len(nodes) != 0 {
		t.Fatalf("empty dir: %v %v", nodes, err)
	}
	w := tree.NewWriter(s, 0)
	w.Add(ctx, &tree.Node{Name: "link", Type: tree.Symlink, LinkTarget: "../x", Mode: 0o777})
	w.Add(ctx, &tree.Node{Name: "sub", Type: tree.Dir, Subtree: ref, Mode: 0o755})
	ref2, _ := w.Close(ctx)
	nodes, err = tree.ReadAll(ctx, s, ref2)
	if err != nil || len(nodes) != 2 || nodes[0].LinkTarget != "../x" || nodes[1].Subtree != ref {
		t.Fatalf("small dir: %+v %v", nodes, err)
	}
}

func TestReaderReportsCorruptBlob(t *testing.T) {
	ctx := context.Background()
	s := newStore()
	w := tree.NewWriter(s, 0)
	w.Add(ctx, fileNode(1))
	ref, _ := w.Close(ctx)
	s.blobs[ref] = s.blobs[ref][:len(s.blobs[ref])-3]
	_, err := tree.ReadAll(ctx, s, ref)
	if err == nil || !strings.Contains(err.Error(), ref.String()) {
		t.Fatalf("truncated tree blob: %v; want an error naming %s", err, ref)
	}
}
