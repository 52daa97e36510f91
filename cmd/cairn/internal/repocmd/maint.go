package repocmd

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
	"github.com/cairnbackup/cairn/pkg/repo/maint"
)

type forgetFlags struct {
	policy     maint.Policy
	within     string
	groupBy    string
	dryRun     bool
	prune      bool
	grace      time.Duration
	hostFilter snapshotFilter
}

type pruneFlags struct {
	grace  time.Duration
	dryRun bool
}

type checkFlags struct {
	readData bool
	subset   string
}

func init() {
	register("forget", &command{
		summary: "remove snapshots by retention policy or by ID (data goes at the next prune)",
		usage:   "[SNAPSHOT...]",
		flags: func(fs *pflag.FlagSet, e *env) {
			f := &forgetFlags{}
			fs.IntVar(&f.policy.Last, "keep-last", 0, "keep the N newest snapshots")
			fs.IntVar(&f.policy.Hourly, "keep-hourly", 0, "keep the newest snapshot of each of the last N hours")
			fs.IntVar(&f.policy.Daily, "keep-daily", 0, "keep the newest snapshot of each of the last N days")
			fs.IntVar(&f.policy.Weekly, "keep-weekly", 0, "keep the newest snapshot of each of the last N weeks")
			fs.IntVar(&f.policy.Monthly, "keep-monthly", 0, "keep the newest snapshot of each of the last N months")
			fs.IntVar(&f.policy.Yearly, "keep-yearly", 0, "keep the newest snapshot of each of the last N years")
			fs.StringVar(&f.within, "keep-within", "", "keep every snapshot younger than this, e.g. 36h, 14d, 2w, 6m, 1y")
			fs.StringSliceVar(&f.policy.KeepTags, "keep-tag", nil, "keep every snapshot with this tag (repeatable)")
			fs.StringVar(&f.groupBy, "group-by", "host,paths", "apply the policy per group of: host, paths, both (host,paths) or none ('')")
			fs.BoolVarP(&f.dryRun, "dry-run", "n", false, "only show what would be removed")
			fs.BoolVar(&f.prune, "prune", false, "run prune afterwards")
			fs.DurationVar(&f.grace, "grace", maint.DefaultGrace, "with --prune: grace period (see prune)")
			e.cmd = f
		},
		run: runForget,
	})
	register("prune", &command{
		summary: "delete data no snapshot references (two-phase: marks now, deletes after the grace period)",
		flags: func(fs *pflag.FlagSet, e *env) {
			f := &pruneFlags{}
			fs.DurationVar(&f.grace, "grace", maint.DefaultGrace, "how long marked data waits before deletion; longer than any backup runs")
			fs.BoolVarP(&f.dryRun, "dry-run", "n", false, "only show what would be done")
			e.cmd = f
		},
		run: runPrune,
	})
	register("check", &command{
		summary: "verify the repository's structure and, with --read-data, its content",
		flags: func(fs *pflag.FlagSet, e *env) {
			f := &checkFlags{}
			fs.BoolVar(&f.readData, "read-data", false, "download and verify every pack")
			fs.StringVar(&f.subset, "read-data-subset", "", "verify a random share of the packs, e.g. 10%")
			e.cmd = f
		},
		run: runCheck,
	})
	register("stats", &command{
		summary: "show logical size, stored size and dedup ratio",
		run:     runStats,
	})
}

// parseWithin reads durations with day, week, month and year units too.
func parseWithin(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	units := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour, 'm': 30 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}
	if u, ok := units[s[len(s)-1]]; ok {
		n, err := strconv.Atoi(s[:len(s)-1])
		if err == nil && n >= 0 {
			return time.Duration(n) * u, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q: use e.g. 36h, 14d, 2w, 6m or 1y", s)
	}
	return d, nil
}

type forgetResult struct {
	Groups  []maint.Group      `json:"groups"`
	Removed []string           `json:"removed"`
	DryRun  bool               `json:"dryRun"`
	Prune   *maint.PruneResult `json:"prune,omitempty"`
}

func runForget(ctx context.Context, e *env, args []string) error {
	f := e.cmd.(*forgetFlags)
	within, err := parseWithin(f.within)
	if err != nil {
		return cli.Usagef("--keep-within: %v", err)
	}
	f.policy.Within = within
	if err := f.policy.Validate(); err != nil {
		return cli.Usagef("%v", err)
	}
	var by maint.GroupKey
	for _, g := range strings.Split(f.groupBy, ",") {
		switch strings.TrimSpace(g) {
		case "host":
			by.Host = true
		case "paths":
			by.Paths = true
		case "":
		default:
			return cli.Usagef("--group-by: unknown key %q; use host, paths or both", g)
		}
	}
	if len(args) == 0 && f.policy.Empty() {
		return cli.Usagef("forget needs snapshot IDs or a policy (--keep-last, --keep-daily, ...); refusing to remove everything")
	}
	if len(args) > 0 && !f.policy.Empty() {
		return cli.Usagef("give either snapshot IDs or a policy, not both")
	}
	r, err := openRepo(ctx, e)
	if err != nil {
		return err
	}
	defer r.Close()
	res := forgetResult{DryRun: f.dryRun, Removed: []string{}}
	if len(args) > 0 {
		for _, a := range args {
			// By ID the snapshot is not read: a damaged one can be removed.
			id, err := r.FindSnapshot(ctx, a)
			if err != nil {
				return classify(err)
			}
			if !f.dryRun {
				if err := r.DeleteSnapshot(ctx, id); err != nil {
					return classify(err)
				}
			}
			res.Removed = append(res.Removed, id.String())
		}
	} else {
		groups, damaged, err := maint.Forget(ctx, r, f.policy, by, time.Now(), f.dryRun)
		if err != nil {
			return classify(err)
		}
		warnDamaged(e, damaged)
		res.Groups = groups
		for _, g := range groups {
			for _, d := range g.Decisions {
				if !d.Keep {
					res.Removed = append(res.Removed, d.ID)
				}
			}
		}
	}
	if f.prune && !f.dryRun {
		if res.Prune, err = maint.Prune(ctx, r, maint.PruneOptions{Grace: f.grace, Owner: "cairn repo forget --prune"}); err != nil {
			return classify(err)
		}
	}
	return e.out.Result(res, func(w io.Writer) {
		for _, g := range res.Groups {
			fmt.Fprintf(w, "host %s, paths %s:\n", g.Hostname, strings.Join(g.Paths, " "))
			for _, d := range g.Decisions {
				verdict := "remove"
				if d.Keep {
					verdict = "keep   (" + strings.Join(d.Reasons, ", ") + ")"
				}
				fmt.Fprintf(w, "  %s  %s  %s\n", d.ID[:8], d.Snapshot.Time.Local().Format("2006-01-02 15:04:05"), verdict)
			}
		}
		verb := "removed"
		if f.dryRun {
			verb = "would remove"
		}
		fmt.Fprintf(w, "%s %d snapshots\n", verb, len(res.Removed))
		if res.Prune != nil {
			printPrune(w, res.Prune)
		}
	})
}

func runPrune(ctx context.Context, e *env, args []string) error {
	f := e.cmd.(*pruneFlags)
	if len(args) > 0 {
		return cli.Usagef("prune takes no arguments")
	}
	r, err := openRepo(ctx, e)
	if err != nil {
		return err
	}
	defer r.Close()
	res, err := maint.Prune(ctx, r, maint.PruneOptions{Grace: f.grace, DryRun: f.dryRun, Owner: "cairn repo prune"})
	if err != nil {
		return classify(err)
	}
	return e.out.Result(res, func(w io.Writer) { printPrune(w, res) })
}

func printPrune(w io.Writer, p *maint.PruneResult) {
	fmt.Fprintf(w, "deleted %d packs (%s) from %d plans past their grace period; %d plans still waiting\n",
		p.PacksDeleted, cli.Bytes(p.BytesDeleted), p.PlansExecuted, p.PlansWaiting)
	if p.PacksRescued > 0 {
		fmt.Fprintf(w, "kept %d marked packs that snapshots reference again\n", p.PacksRescued)
	}
	if p.PlanID != "" {
		fmt.Fprintf(w, "marked %d unreferenced packs (%s) in plan %s; a prune after the grace period deletes them\n",
			p.PacksCondemned, cli.Bytes(p.BytesCondemned), p.PlanID[:8])
	}
	if p.UnusedInUsedPacks > 0 {
		fmt.Fprintf(w, "%s of unreferenced data sits in packs that also hold live data (not repacked)\n", cli.Bytes(p.UnusedInUsedPacks))
	}
}

func runCheck(ctx context.Context, e *env, args []string) error {
	f := e.cmd.(*checkFlags)
	if len(args) > 0 {
		return cli.Usagef("check takes no arguments")
	}
	opts := maint.CheckOptions{ReadData: f.readData}
	if f.subset != "" {
		pct, err := strconv.ParseFloat(strings.TrimSuffix(f.subset, "%"), 64)
		if err != nil || pct <= 0 || pct > 100 {
			return cli.Usagef("--read-data-subset %q: give a percentage in (0, 100], e.g. 10%%", f.subset)
		}
		opts.ReadData, opts.ReadFraction = true, pct/100
	}
	r, err := openRepo(ctx, e)
	if err != nil {
		return err
	}
	defer r.Close()
	res, err := maint.Check(ctx, r, opts)
	if err != nil {
		return classify(err)
	}
	if err := e.out.Result(res, func(w io.Writer) {
		fmt.Fprintf(w, "checked %d snapshots, %d packs (%d read), %d blobs\n", res.Snapshots, res.Packs, res.PacksRead, res.Blobs)
		for _, n := range res.Notes {
			fmt.Fprintf(w, "note: %s\n", n)
		}
		for _, p := range res.Problems {
			fmt.Fprintf(w, "PROBLEM %s: %s\n", p.Object, p.Message)
		}
		if len(res.Problems) == 0 {
			fmt.Fprintln(w, "no problems found")
		}
	}); err != nil {
		return err
	}
	if len(res.Problems) > 0 {
		return cli.WithCode(cli.ExitDamaged, fmt.Errorf("check found %d problems", len(res.Problems)))
	}
	return nil
}

func runStats(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		return cli.Usagef("stats takes no arguments")
	}
	r, err := openRepo(ctx, e)
	if err != nil {
		return err
	}
	defer r.Close()
	st, err := maint.ComputeStats(ctx, r)
	if err != nil {
		return classify(err)
	}
	return e.out.Result(st, func(w io.Writer) {
		t := cli.Table(w)
		fmt.Fprintf(t, "snapshots\t%d\n", st.Snapshots)
		fmt.Fprintf(t, "files (all snapshots)\t%d\n", st.Files)
		fmt.Fprintf(t, "logical size\t%s\n", cli.Bytes(int64(st.LogicalBytes)))
		fmt.Fprintf(t, "unique data\t%s in %d blobs\n", cli.Bytes(int64(st.UniqueRawBytes)), st.UniqueBlobs)
		fmt.Fprintf(t, "stored (referenced)\t%s\n", cli.Bytes(int64(st.UniqueStoredBytes)))
		fmt.Fprintf(t, "stored (all packs)\t%s in %d packs\n", cli.Bytes(st.StoredBytes), st.Packs)
		fmt.Fprintf(t, "dedup ratio\t%.2f\n", st.DedupRatio)
		fmt.Fprintf(t, "compression ratio\t%.2f\n", st.CompressionRatio)
		t.Flush()
	})
}
