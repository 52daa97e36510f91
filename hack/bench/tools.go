package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// measurement is one timed command.
type measurement struct {
	wall   time.Duration
	maxRSS int64 // bytes
	stored int64 // repository size after the step, bytes
}

// tool wraps one backup program's command lines.
type tool interface {
	name() string
	initRepo(repo string) []string
	backup(repo, path string) []string
	restore(repo, target string) []string
	env() []string
}

type cairnTool struct{ bin, pwFile string }

func (c *cairnTool) name() string  { return "cairn" }
func (c *cairnTool) env() []string { return []string{"CAIRN_PASSWORD_FILE=" + c.pwFile} }
func (c *cairnTool) initRepo(repo string) []string {
	return []string{c.bin, "repo", "init", "-q", "--repo", repo}
}
func (c *cairnTool) backup(repo, p string) []string {
	return []string{c.bin, "repo", "backup", "-q", "--repo", repo, p}
}
func (c *cairnTool) restore(repo, t string) []string {
	return []string{c.bin, "repo", "restore", "-q", "--repo", repo, "--target", t, "latest"}
}

type resticTool struct{ bin, pwFile string }

func (r *resticTool) name() string { return "restic" }
func (r *resticTool) env() []string {
	return []string{"RESTIC_PASSWORD_FILE=" + r.pwFile, "RESTIC_CACHE_DIR=" + filepath.Join(filepath.Dir(r.pwFile), "restic-cache")}
}
func (r *resticTool) initRepo(repo string) []string { return []string{r.bin, "init", "-q", "-r", repo} }
func (r *resticTool) backup(repo, p string) []string {
	return []string{r.bin, "backup", "-q", "-r", repo, p}
}
func (r *resticTool) restore(repo, t string) []string {
	return []string{r.bin, "restore", "-q", "-r", repo, "--target", t, "latest"}
}

// measure runs argv and returns its wall time and peak RSS from wait4.
func measure(t tool, argv []string) (measurement, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), t.env()...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return measurement{}, fmt.Errorf("%v: %w\n%s", argv, err, stderr.String())
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return measurement{}, fmt.Errorf("no rusage for %v", argv)
	}
	return measurement{wall: wall, maxRSS: ru.Maxrss * 1024}, nil
}

// benchDataset runs the whole sequence for one tool on one dataset:
// initial backup, unchanged re-backup, 1%-changed re-backup, full restore.
func benchDataset(t tool, work, ds, path string) (map[string]measurement, error) {
	repo := filepath.Join(work, "repo-"+t.name()+"-"+ds)
	target := filepath.Join(work, "restore-"+t.name()+"-"+ds)
	if _, err := measure(t, t.initRepo(repo)); err != nil {
		return nil, err
	}
	res := map[string]measurement{}
	step := func(name string, argv []string) error {
		fmt.Fprintf(os.Stderr, "  %-6s %-6s %-9s ", t.name(), ds, name)
		m, err := measure(t, argv)
		if err != nil {
			return err
		}
		if m.stored, err = dirSize(repo); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%8.2fs  rss %4d MiB  repo %d MiB\n", m.wall.Seconds(), m.maxRSS>>20, m.stored>>20)
		res[name] = m
		return nil
	}
	if err := step("backup", t.backup(repo, path)); err != nil {
		return nil, err
	}
	if err := step("unchanged", t.backup(repo, path)); err != nil {
		return nil, err
	}
	if err := applyChange(path); err != nil {
		return nil, err
	}
	if err := step("changed", t.backup(repo, path)); err != nil {
		return nil, err
	}
	if err := step("restore", t.restore(repo, target)); err != nil {
		return nil, err
	}
	restored := filepath.Join(target, path)
	if err := sameTree(path, restored); err != nil {
		return nil, fmt.Errorf("%s restore differs from the source: %w", t.name(), err)
	}
	return res, os.RemoveAll(target)
}

// sameTree compares two trees with diff -r (content and structure).
func sameTree(a, b string) error {
	out, err := exec.Command("diff", "-rq", "--no-dereference", a, b).CombinedOutput()
	if err != nil {
		if len(out) > 2000 {
			out = out[:2000]
		}
		return fmt.Errorf("%v\n%s", err, out)
	}
	return nil
}

// dirSize sums the sizes of the files under dir (the repository's
// stored size).
func dirSize(dir string) (int64, error) {
	var total int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			total += fi.Size()
		}
		return nil
	})
	return total, err
}
