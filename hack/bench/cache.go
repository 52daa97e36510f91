package main

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// settleCache gives every measured command the same page cache: after
// sync, the kernel drops its clean pages, then the command's inputs (the
// binary, the data it backs up, the repository it reads) are read once,
// so the command starts with exactly what it reads in memory and nothing
// else. Measured on this VM: with ~14 GB of earlier runs' pages cached, a
// 1 GiB restore spent 1.9 s of system time copying into the page cache
// instead of 0.5 s, and how much earlier runs had left varied from step to
// step. Without root (no drop_caches) only the sync and the reads happen.
func settleCache(inputs ...string) {
	syscall.Sync()
	if f, err := os.OpenFile("/proc/sys/vm/drop_caches", os.O_WRONLY, 0); err == nil {
		f.WriteString("1\n")
		f.Close()
	}
	buf := make([]byte, 1<<20)
	for _, in := range inputs {
		filepath.WalkDir(in, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			if f, err := os.Open(p); err == nil {
				io.CopyBuffer(io.Discard, f, buf)
				f.Close()
			}
			return nil
		})
	}
}
