// Package fsfixture builds sample file trees with every kind of entry the
// engine must preserve, and compares two trees entry by entry. It is used by
// the archiver, restorer and CLI tests so that all of them check the same
// fidelity rules on real files.
package fsfixture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/cairnbackup/cairn/pkg/fsutil"
)

// Random returns n reproducible incompressible bytes.
func Random(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
	return b[:n]
}

// Build creates a tree under dir with: nested directories, small, empty and
// multi-chunk files, a sparse file with a hole in the middle and at the end,
// a symlink, a hardlink pair, a FIFO, unusual permissions (setgid, 0600,
// a read-only directory), foreign owners (when run as root) and fixed
// mtimes. bigSize sets the multi-chunk
// file's size (several MiB exercises the chunker).
func Build(dir string, bigSize int) error {
	mk := func(p string, data []byte, mode os.FileMode) error {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, data, mode); err != nil {
			return err
		}
		return os.Chmod(full, mode)
	}
	steps := []error{
		mk("small.txt", []byte("hello, cairn\n"), 0o644),
		mk("empty", nil, 0o600),
		mk("dir/a/deep.bin", Random(100<<10, 1), 0o640),
		mk("dir/b/big.bin", Random(bigSize, 2), 0o644),
		mk("dir/b/script.sh", []byte("#!/bin/sh\necho hi\n"), 0o755|os.ModeSetgid),
		mk("dir/b/dup.bin", Random(bigSize, 2), 0o644), // same content as big.bin: dedup
		mk("links/original", []byte("linked content"), 0o644),
	}
	if err := errors.Join(steps...); err != nil {
		return err
	}
	if err := os.Link(filepath.Join(dir, "links/original"), filepath.Join(dir, "links/hardlink")); err != nil {
		return err
	}
	if err := os.Symlink("../small.txt", filepath.Join(dir, "links/symlink")); err != nil {
		return err
	}
	if err := os.Symlink("/nonexistent/target", filepath.Join(dir, "links/dangling")); err != nil {
		return err
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "links/fifo"), 0o600); err != nil {
		return err
	}
	if err := makeSparse(filepath.Join(dir, "sparse.img")); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		// Foreign ownership, to prove it is restored (root only).
		if err := os.Lchown(filepath.Join(dir, "dir/a/deep.bin"), 1234, 5678); err != nil {
			return err
		}
		if err := os.Lchown(filepath.Join(dir, "links/symlink"), 4321, 8765); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "ro"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "ro/inside"), []byte("in a read-only dir"), 0o444); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(dir, "ro"), 0o555); err != nil {
		return err
	}
	// Fixed times, deepest first so parents keep theirs.
	when := time.Date(2021, 3, 4, 5, 6, 7, 123456789, time.UTC)
	var paths []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			paths = append(paths, p)
		}
		return nil
	})
	for i := len(paths) - 1; i >= 0; i-- {
		if err := fsutil.LUtimes(paths[i], when.Add(time.Duration(i)*time.Second)); err != nil {
			return err
		}
	}
	return nil
}

// SparseSize is the apparent size of the sparse file Build makes.
const SparseSize = 64 << 20

func makeSparse(p string) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteAt(Random(4096, 3), 0); err != nil {
		return err
	}
	if _, err := f.WriteAt(Random(4096, 4), 30<<20); err != nil {
		return err
	}
	return f.Truncate(SparseSize)
}

// Compare checks that got is a faithful copy of want: same entries, types,
// content, permission bits, owners, mtimes (to the nanosecond), symlink
// targets, hardlinks (entries sharing an inode in want share one in got),
// and sparse files no more allocated than in want (plus slack).
func Compare(want, got string) error {
	var errs []error
	inodes := map[uint64]string{} // want inode -> got path of first occurrence
	err := filepath.WalkDir(want, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		q := filepath.Join(got, rel)
		if err := compareEntry(p, q, inodes); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", rel, err))
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Nothing extra in got.
	filepath.WalkDir(got, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(got, q)
		if _, err := os.Lstat(filepath.Join(want, rel)); err != nil {
			errs = append(errs, fmt.Errorf("%s: extra entry in the copy", rel))
		}
		return nil
	})
	return errors.Join(errs...)
}

func compareEntry(p, q string, inodes map[uint64]string) error {
	var a, b syscall.Stat_t
	if err := syscall.Lstat(p, &a); err != nil {
		return err
	}
	if err := syscall.Lstat(q, &b); err != nil {
		return fmt.Errorf("missing in the copy: %w", err)
	}
	if a.Mode != b.Mode {
		return fmt.Errorf("mode %o, want %o", b.Mode, a.Mode)
	}
	if a.Uid != b.Uid || a.Gid != b.Gid {
		return fmt.Errorf("owner %d:%d, want %d:%d", b.Uid, b.Gid, a.Uid, a.Gid)
	}
	if a.Mtim != b.Mtim {
		return fmt.Errorf("mtime %v, want %v", time.Unix(b.Mtim.Unix()), time.Unix(a.Mtim.Unix()))
	}
	switch a.Mode & syscall.S_IFMT {
	case syscall.S_IFLNK:
		ta, _ := os.Readlink(p)
		tb, _ := os.Readlink(q)
		if ta != tb {
			return fmt.Errorf("symlink to %q, want %q", tb, ta)
		}
	case syscall.S_IFREG:
		if a.Size != b.Size {
			return fmt.Errorf("size %d, want %d", b.Size, a.Size)
		}
		da, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		db, err := os.ReadFile(q)
		if err != nil {
			return err
		}
		if !bytes.Equal(da, db) {
			return errors.New("content differs")
		}
		if b.Blocks > a.Blocks+2048 { // 1 MiB of slack in 512-byte blocks
			return fmt.Errorf("%d blocks allocated, the original has %d: holes were filled", b.Blocks, a.Blocks)
		}
		if a.Nlink > 1 {
			if first, ok := inodes[a.Ino]; ok {
				var f syscall.Stat_t
				if err := syscall.Lstat(first, &f); err != nil || f.Ino != b.Ino {
					return fmt.Errorf("not hardlinked to %s", first)
				}
			} else {
				inodes[a.Ino] = q
			}
		}
	}
	return nil
}
