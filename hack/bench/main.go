// Command bench runs cairn and restic side by side on the same data and
// prints a table of ratios (see docs/engine-benchmark.md). It is a script
// written in Go so that it can measure peak RSS of each run exactly (wait4
// rusage) without depending on /usr/bin/time; it is run by `make bench`, not
// by `go test`.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

func main() {
	cairn := flag.String("cairn", "bin/cairn", "cairn binary")
	restic := flag.String("restic", "restic", "restic binary")
	work := flag.String("work", "/var/tmp/cairn-bench", "scratch directory (needs ~15 GiB: every repository and restore is kept until the end)")
	size := flag.Int64("size", 1<<30, "bytes of incompressible data for the large-file dataset")
	files := flag.Int("files", 8, "number of files the large dataset is split into")
	gotree := flag.String("tree", "/usr/local/go", "source tree for the many-files dataset")
	out := flag.String("out", "", "also write the markdown table to this file")
	keep := flag.Bool("keep", false, "keep the scratch directory (without -fresh-fs 0 it is a mount that goes at the end)")
	repeat := flag.Int("repeat", 3, "runs of the repeatable steps (unchanged backup, restore); the fastest counts")
	useMinIO := flag.Bool("minio", false, "keep both tools' repositories in a MinIO server started on loopback (data on the scratch file system) instead of local directories: compares the tools' S3 clients")
	datasets := flag.String("datasets", "large,tree", "comma-separated datasets to run: large (random files), tree (the -tree copy)")
	fresh := flag.Int64("fresh-fs", 20<<30, "mount a new ext4 file system of this many bytes (a sparse image) on the scratch directory for the run; 0 uses the directory as it is (needs root otherwise)")
	flag.Parse()

	os.RemoveAll(*work)
	cleanup := func() {
		if !*keep {
			os.RemoveAll(*work)
		}
	}
	if *fresh > 0 {
		fs, err := mountFreshFS(*work, *fresh)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: a fresh file system for the run:", err, "(run as root, or pass -fresh-fs 0)")
			os.Exit(1)
		}
		cleanup = fs.unmount // the image goes with the file system
	}
	err := run(*cairn, *restic, *work, *size, *files, *gotree, *out, max(1, *repeat), *useMinIO, strings.Split(*datasets, ","))
	cleanup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(cairnBin, resticBin, work string, size int64, nfiles int, gotree, out string, repeat int, useMinIO bool, datasets []string) error {
	for _, ds := range datasets {
		if ds != "large" && ds != "tree" {
			return fmt.Errorf("unknown dataset %q in -datasets (large, tree)", ds)
		}
	}
	cairnBin, err := filepath.Abs(cairnBin)
	if err != nil {
		return err
	}
	if p, err := exec.LookPath(resticBin); err == nil {
		resticBin = p
	} else {
		return fmt.Errorf("restic not found (%v); install it with apt-get install restic", err)
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	pw := filepath.Join(work, "password")
	if err := os.WriteFile(pw, []byte("benchmark-password\n"), 0o600); err != nil {
		return err
	}
	large := filepath.Join(work, "data-large")
	if slices.Contains(datasets, "large") {
		fmt.Fprintf(os.Stderr, "generating %d bytes of random data in %d files...\n", size, nfiles)
		if err := genRandom(large, size, nfiles); err != nil {
			return err
		}
	}
	tree := filepath.Join(work, "data-tree")
	var treeFiles, treeBytes int64
	if slices.Contains(datasets, "tree") {
		fmt.Fprintf(os.Stderr, "copying %s...\n", gotree)
		if err := exec.Command("cp", "-a", gotree, tree).Run(); err != nil {
			return fmt.Errorf("copy %s: %w", gotree, err)
		}
		if treeFiles, treeBytes, err = countTree(tree); err != nil {
			return err
		}
	}
	tools := []tool{
		&cairnTool{bin: cairnBin, pwFile: pw},
		&resticTool{bin: resticBin, pwFile: pw},
	}
	if useMinIO {
		m, err := startMinIO(work)
		if err != nil {
			return err
		}
		defer m.stop()
		for i, t := range tools {
			tools[i] = onMinIO{tool: t, m: m}
		}
	}
	var rows []row
	for _, ds := range []struct {
		name  string
		path  string
		files int64
		bytes int64
	}{
		{"large", large, int64(nfiles), size},
		{"tree", tree, treeFiles, treeBytes},
	} {
		if !slices.Contains(datasets, ds.name) {
			continue
		}
		res, err := benchDataset(tools, work, ds.name, ds.path, repeat)
		if err != nil {
			return fmt.Errorf("%s: %w", ds.name, err)
		}
		// Undo the 1% change, leaving the data as generated.
		if err := restoreChanged(ds.path); err != nil {
			return err
		}
		rows = append(rows, tableRows(ds.name, ds.files, ds.bytes, res)...)
	}
	table := render(rows, time.Now())
	if useMinIO {
		table = "Repositories in MinIO on loopback (`-minio`), its data on the same file system.\n\n" + table
	}
	fmt.Print(table)
	if out != "" {
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, []byte(table), 0o644)
	}
	return nil
}
