package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

// entry is one file, directory or symlink to place in the image's single layer.
type entry struct {
	// dst is the absolute, cleaned path inside the image.
	dst string
	// src is the host file to copy; empty for directories and symlinks.
	src string
	// target is the link target when the entry is a symlink.
	target string
	// dir marks an explicit directory entry.
	dir bool
	// mode is the permission bits written to the layer.
	mode int64
}

// epoch is the fixed modification time of every layer entry, so that the same
// inputs always give the same layer digest (and image ID).
var epoch = time.Unix(0, 0).UTC()

// cleanImagePath checks that p is an absolute path inside the image and returns
// it cleaned, so that no entry can escape the root with "..".
func cleanImagePath(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("image path %q must be absolute (start with /)", p)
	}
	c := path.Clean(p)
	if c == "/" {
		return "", fmt.Errorf("image path %q names the root; give a file path such as /bin/app", p)
	}
	return c, nil
}

// buildLayer writes an uncompressed tar holding the entries plus every parent
// directory they need, in sorted order with fixed times and root ownership.
func buildLayer(entries []entry) ([]byte, error) {
	all := map[string]entry{"/tmp": {dst: "/tmp", dir: true, mode: 0o1777}}
	for _, e := range entries {
		if prev, ok := all[e.dst]; ok && !(prev.dir && e.dir) {
			return nil, fmt.Errorf("image path %s is given twice; each path may appear once", e.dst)
		}
		all[e.dst] = e
		for d := path.Dir(e.dst); d != "/"; d = path.Dir(d) {
			if _, ok := all[d]; !ok {
				all[d] = entry{dst: d, dir: true, mode: 0o755}
			}
		}
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		if err := writeEntry(tw, all[n]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("finish layer tar: %w", err)
	}
	return buf.Bytes(), nil
}

// writeEntry appends one entry to the tar stream.
func writeEntry(tw *tar.Writer, e entry) error {
	h := &tar.Header{Name: strings.TrimPrefix(e.dst, "/"), ModTime: epoch, Mode: e.mode, Format: tar.FormatPAX}
	switch {
	case e.dir:
		h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
		return tw.WriteHeader(h)
	case e.target != "":
		h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, e.target, 0o777
		return tw.WriteHeader(h)
	}
	f, err := os.Open(e.src)
	if err != nil {
		return fmt.Errorf("open %s for image path %s: %w", e.src, e.dst, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", e.src, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file; only files can be copied into an image", e.src)
	}
	h.Typeflag, h.Size = tar.TypeReg, st.Size()
	if h.Mode == 0 {
		h.Mode = int64(st.Mode().Perm())
	}
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("write header for %s: %w", e.dst, err)
	}
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("copy %s into the layer: %w", e.src, err)
	}
	return nil
}
