// Package repotest builds small repositories and snapshots for tests of the
// repository core and of its users, without the archiver: files are given
// as a map from slash-separated path to content.
package repotest

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/repo/crypto"
	"github.com/cairnbackup/cairn/pkg/repo/tree"
)

// Password is the password of repositories made by Init.
const Password = "test password"

// Options are cheap options for tests: a fast KDF and 1 MiB packs.
var Options = repo.Options{KDF: crypto.TestKDF, PackSize: 1 << 20, VerifyAfter: time.Nanosecond}

// Init creates a repository in a new temporary directory and returns it
// with its URL (to open more handles).
func Init(t testing.TB) (*repo.Repository, string) {
	t.Helper()
	url := "file://" + t.TempDir() + "/repo"
	be, err := backend.Open(context.Background(), url, backend.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Init(context.Background(), be, Password, Options)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, url
}

// Open opens another handle on the repository at url.
func Open(t testing.TB, url string) *repo.Repository {
	t.Helper()
	be, err := backend.Open(context.Background(), url, backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(context.Background(), be, Password, Options)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// ChunkSize is how Backup cuts file content into data blobs.
const ChunkSize = 64 << 10

// WriteTree stores files (path → content) as blobs and trees and returns
// the root tree reference. Content is cut every ChunkSize bytes.
func WriteTree(ctx context.Context, r *repo.Repository, files map[string][]byte) (repo.ID, error) {
	type dir struct {
		files map[string][]byte
		dirs  map[string]*dir
	}
	newDir := func() *dir { return &dir{files: map[string][]byte{}, dirs: map[string]*dir{}} }
	root := newDir()
	for p, data := range files {
		parts := strings.Split(p, "/")
		d := root
		for _, part := range parts[:len(parts)-1] {
			if d.dirs[part] == nil {
				d.dirs[part] = newDir()
			}
			d = d.dirs[part]
		}
		d.files[parts[len(parts)-1]] = data
	}
	var write func(d *dir) (repo.ID, error)
	write = func(d *dir) (repo.ID, error) {
		names := make([]string, 0, len(d.files)+len(d.dirs))
		for n := range d.files {
			names = append(names, n)
		}
		for n := range d.dirs {
			names = append(names, n)
		}
		sort.Strings(names)
		w := tree.NewWriter(r, 4096)
		for _, name := range names {
			n := &tree.Node{Name: name, Mode: 0o644, ModTime: 1}
			if sub, ok := d.dirs[name]; ok {
				ref, err := write(sub)
				if err != nil {
					return repo.ID{}, err
				}
				n.Type, n.Mode, n.Subtree = tree.Dir, 0o755, ref
			} else {
				data := d.files[name]
				n.Type, n.Size = tree.File, uint64(len(data))
				for off := 0; off < len(data); off += ChunkSize {
					chunk := data[off:min(off+ChunkSize, len(data))]
					id := r.Hash(chunk)
					if _, err := r.SaveBlob(ctx, repo.DataBlob, id, chunk); err != nil {
						return repo.ID{}, err
					}
					n.Content = append(n.Content, id)
				}
			}
			if err := w.Add(ctx, n); err != nil {
				return repo.ID{}, err
			}
		}
		return w.Close(ctx)
	}
	return write(root)
}

// Backup stores files and saves a snapshot of them.
func Backup(ctx context.Context, r *repo.Repository, files map[string][]byte, tags ...string) (*repo.Snapshot, error) {
	ref, err := WriteTree(ctx, r, files)
	if err != nil {
		return nil, err
	}
	sn := &repo.Snapshot{Time: time.Now(), Hostname: "test", Paths: []string{"/data"}, Tags: tags, Tree: ref}
	if _, err := r.SaveSnapshot(ctx, sn); err != nil {
		return nil, err
	}
	return sn, nil
}

// ReadTree loads every file below ref back into a path → content map,
// verifying every blob on the way.
func ReadTree(ctx context.Context, r *repo.Repository, ref repo.ID) (map[string][]byte, error) {
	out := map[string][]byte{}
	var read func(prefix string, ref repo.ID) error
	read = func(prefix string, ref repo.ID) error {
		nodes, err := tree.ReadAll(ctx, r, ref)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			switch n.Type {
			case tree.Dir:
				if err := read(prefix+n.Name+"/", n.Subtree); err != nil {
					return err
				}
			case tree.File:
				data := []byte{}
				for _, id := range n.Content {
					b, err := r.LoadBlob(ctx, repo.DataBlob, id)
					if err != nil {
						return err
					}
					data = append(data, b...)
				}
				out[prefix+n.Name] = data
			}
		}
		return nil
	}
	return out, read("", ref)
}

// RoundTrip initialises a repository in be, backs up files, reopens it
// through a second handle and checks that every file reads back equal. It
// returns the second handle and the snapshot.
func RoundTrip(t testing.TB, be *backend.Backend, files map[string][]byte) (*repo.Repository, *repo.Snapshot) {
	t.Helper()
	ctx := context.Background()
	r, err := repo.Init(ctx, be, Password, Options)
	if err != nil {
		t.Fatal(err)
	}
	sn, err := Backup(ctx, r, files)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := repo.Open(ctx, be, Password, Options)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadTree(ctx, r2, sn.Tree)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range files {
		if string(got[p]) != string(want) {
			t.Fatalf("%s differs after the round trip", p)
		}
	}
	return r2, sn
}
