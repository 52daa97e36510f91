package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
)

// genRandom writes size bytes of ChaCha8 output (incompressible, fast to
// make) split over n files in dir.
func genRandom(dir string, size int64, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rng := rand.NewChaCha8([32]byte{'c', 'a', 'i', 'r', 'n'})
	per := size / int64(n)
	buf := make([]byte, 1<<20)
	for i := 0; i < n; i++ {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("random-%02d.bin", i)))
		if err != nil {
			return err
		}
		w := bufio.NewWriterSize(f, 4<<20)
		for left := per; left > 0; {
			fill(rng, buf)
			k := min(left, int64(len(buf)))
			if _, err := w.Write(buf[:k]); err != nil {
				f.Close()
				return err
			}
			left -= k
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

func fill(rng *rand.ChaCha8, b []byte) {
	for i := 0; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
}

// countTree counts regular files and their bytes.
func countTree(dir string) (files, bytes int64, err error) {
	list, err := regularFiles(dir)
	for _, f := range list {
		files++
		bytes += f.size
	}
	return files, bytes, err
}

type fileInfo struct {
	path string
	size int64
}

// regularFiles lists the regular files below dir in walk order.
func regularFiles(dir string) ([]fileInfo, error) {
	var out []fileInfo
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			out = append(out, fileInfo{p, fi.Size()})
		}
		return nil
	})
	return out, err
}

// undo holds the original content of files changed by applyChange.
var undo = map[string][]saved{}

type saved struct {
	path string
	off  int64
	data []byte
	size int64
}

// applyChange modifies about 1% of the dataset: in a tree of many files it
// appends a line to every 100th file; in a few large files it overwrites 1%
// of each file's bytes in the middle.
func applyChange(dir string) error {
	files, err := regularFiles(dir)
	if err != nil {
		return err
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.path
	}
	sort.Strings(paths)
	rng := rand.NewChaCha8([32]byte{'c', 'h', 'a', 'n', 'g', 'e'})
	many := len(paths) >= 100
	for i, p := range paths {
		if many && i%100 != 0 {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		off, n := fi.Size(), int64(64)
		if !many {
			n = fi.Size() / 100
			off = fi.Size()/2 - n/2
		}
		old := make([]byte, n)
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		if !many {
			if _, err := f.ReadAt(old, off); err != nil {
				f.Close()
				return err
			}
		}
		undo[dir] = append(undo[dir], saved{path: p, off: off, data: old, size: fi.Size()})
		nb := make([]byte, n)
		fill(rng, nb)
		if _, err := f.WriteAt(nb, off); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// restoreChanged reverts applyChange so the next tool sees the same data.
func restoreChanged(dir string) error {
	for _, s := range undo[dir] {
		f, err := os.OpenFile(s.path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		if s.off < s.size {
			_, err = f.WriteAt(s.data, s.off)
		}
		if err == nil {
			err = f.Truncate(s.size)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	delete(undo, dir)
	return nil
}
