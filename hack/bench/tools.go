package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// measurement is one timed command.
type measurement struct {
	wall   time.Duration
	cpu    time.Duration // user + system CPU time
	maxRSS int64         // bytes
	// pipelineRSS is cairn's peak after its repository was open, without
	// the password hash's memory (0 for restic).
	pipelineRSS int64
	stored      int64 // repository size after the step, bytes
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

func (c *cairnTool) name() string { return "cairn" }
func (c *cairnTool) env() []string {
	// Like restic's metadata cache, cairn's key cache lives in the run's
	// directory: it starts empty, so each fresh repository's init pays the
	// password hash and the commands after it on this machine do not.
	return []string{"CAIRN_PASSWORD_FILE=" + c.pwFile, "CAIRN_PEAK_RSS_FILE=" + c.peakFile(),
		"CAIRN_KEY_CACHE_DIR=" + filepath.Join(filepath.Dir(c.pwFile), "cairn-keycache")}
}

// peakFile is where cairn writes its two peak RSS figures (see
// cmd/cairn's CAIRN_PEAK_RSS_FILE): with the password hash, and without.
func (c *cairnTool) peakFile() string { return filepath.Join(filepath.Dir(c.pwFile), "cairn-peak-rss") }

// peaks reads what the last cairn command wrote to peakFile.
func (c *cairnTool) peaks() (withKDF, pipeline int64, err error) {
	data, err := os.ReadFile(c.peakFile())
	if err != nil {
		return 0, 0, err
	}
	if _, err := fmt.Sscan(string(data), &withKDF, &pipeline); err != nil {
		return 0, 0, fmt.Errorf("%s: %w", c.peakFile(), err)
	}
	return withKDF, pipeline, nil
}
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
// The command runs in a scheduling group of its own at the bench's
// priority (see ownSession).
//
// It first settles the page cache with the command's inputs in it (see
// settleCache), which starts with a sync: otherwise the kernel would still
// be writing back the previous command's output (a 1 GiB restore, say)
// with the same two cores while this command runs, and whichever tool came
// second would pay for the first one's writes.
func measure(t tool, argv []string, inputs ...string) (measurement, error) {
	settleCache(append([]string{argv[0]}, inputs...)...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), t.env()...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	ownSession(cmd)
	start := time.Now()
	err := cmd.Start()
	if err == nil {
		givePriority(cmd.Process.Pid)
		err = cmd.Wait()
	}
	wall := time.Since(start)
	if err != nil {
		return measurement{}, fmt.Errorf("%v: %w\n%s", argv, err, stderr.String())
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return measurement{}, fmt.Errorf("no rusage for %v", argv)
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	m := measurement{wall: wall, cpu: cpu, maxRSS: ru.Maxrss * 1024}
	if c, ok := unwrap(t).(*cairnTool); ok {
		// cairn resets the kernel's peak mark once its repository is
		// open, which wait4 then reports: it writes both peaks itself.
		if m.maxRSS, m.pipelineRSS, err = c.peaks(); err != nil {
			return measurement{}, err
		}
	}
	return m, nil
}

// benchDataset runs the sequence on one dataset with every tool, step by
// step and tool after tool within a step, so both tools see the same data
// and the same background load: initial backup (repeated into fresh
// repositories, fastest counts), unchanged re-backup (repeated, fastest
// counts), 1%-changed re-backup, full restore (repeated
// into a fresh directory, fastest counts, checked against the source).
// Repeated runs alternate between the tools.
func benchDataset(tools []tool, work, ds, path string, repeat int) (map[string]map[string]measurement, error) {
	res := map[string]map[string]measurement{}
	repoOf := func(t tool) string { return filepath.Join(work, "repo-"+t.name()+"-"+ds) }
	for _, t := range tools {
		res[t.name()] = map[string]measurement{}
		if _, err := measure(t, t.initRepo(repoOf(t))); err != nil {
			return nil, err
		}
	}
	// scratch names a throw-away repository for the repeated first backups
	// (run 0 goes into the real one, which the later steps use).
	scratch := func(t tool, run int) string {
		if run == 0 {
			return repoOf(t)
		}
		return fmt.Sprintf("%s-first%d", repoOf(t), run)
	}
	step := func(name string, runs int, argv func(t tool, run int) []string, before, after func(t tool, run int) error) error {
		// Runs alternate between the tools and the first tool alternates
		// too: a restore leaves the file system busier for whoever comes
		// next, which would otherwise always favour the same tool.
		// Time counts the fastest run (noise only ever adds time); peak
		// RSS counts the median run, since it varies both ways with the
		// moment the collector runs (restic's Go-tree backup: 83-101 MiB).
		rss, pipeline := map[string][]int64{}, map[string][]int64{}
		defer func() {
			for name2, v := range rss {
				m := res[name2][name]
				m.maxRSS, m.pipelineRSS = median(v), median(pipeline[name2])
				res[name2][name] = m
			}
		}()
		for i := 0; i < runs; i++ {
			for k := range tools {
				t := tools[(k+i)%len(tools)]
				if before != nil {
					if err := before(t, i); err != nil {
						return err
					}
				}
				fmt.Fprintf(os.Stderr, "  %-6s %-6s %-9s ", t.name(), ds, name)
				m, err := measure(t, argv(t, i), path, repoOf(t))
				if err != nil {
					return fmt.Errorf("%s: %w", t.name(), err)
				}
				repo := repoOf(t)
				if name == "backup" {
					repo = scratch(t, i)
				}
				if m.stored, err = storedSize(t, repo); err != nil {
					return err
				}
				fmt.Fprintf(os.Stderr, "%8.2fs  cpu %6.2fs  rss %4d MiB  repo %d MiB\n", m.wall.Seconds(), m.cpu.Seconds(), m.maxRSS>>20, m.stored>>20)
				rss[t.name()] = append(rss[t.name()], m.maxRSS)
				pipeline[t.name()] = append(pipeline[t.name()], m.pipelineRSS)
				if best, ok := res[t.name()][name]; !ok || m.wall < best.wall {
					res[t.name()][name] = m
				}
				if after != nil {
					if err := after(t, i); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	backup := func(t tool, _ int) []string { return t.backup(repoOf(t), path) }
	// The first backup is repeated like the other steps, each extra run
	// into a fresh repository that is deleted afterwards.
	first := func(t tool, run int) []string { return t.backup(scratch(t, run), path) }
	initScratch := func(t tool, run int) error {
		if run == 0 {
			return nil
		}
		_, err := measure(t, t.initRepo(scratch(t, run)))
		return err
	}
	// Nothing is deleted while the benchmark runs (the scratch
	// repositories, like the restores below, go with the work directory at
	// the end): on this VM's ext4, mounted with discard, deleting a
	// gigabyte makes file creation slower for a minute or more afterwards,
	// so a deletion between runs measured the deletion, not the tools.
	if err := step("backup", repeat, first, initScratch, nil); err != nil {
		return nil, err
	}
	if err := step("unchanged", repeat, backup, nil, nil); err != nil {
		return nil, err
	}
	if err := applyChange(path); err != nil {
		return nil, err
	}
	if err := step("changed", 1, backup, nil, nil); err != nil {
		return nil, err
	}
	// Every restore goes to its own directory, kept until the end.
	target := func(t tool, run int) string {
		return filepath.Join(work, fmt.Sprintf("restore-%s-%s-%d", t.name(), ds, run))
	}
	restore := func(t tool, run int) []string { return t.restore(repoOf(t), target(t, run)) }
	check := func(t tool, run int) error {
		if err := sameTree(path, filepath.Join(target(t, run), path)); err != nil {
			return fmt.Errorf("%s restore differs from the source: %w", t.name(), err)
		}
		return nil
	}
	if err := step("restore", repeat, restore, nil, check); err != nil {
		return nil, err
	}
	return res, nil
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

// median returns the middle value of v (the lower middle for an even
// count).
func median(v []int64) int64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[(len(v)-1)/2]
}
