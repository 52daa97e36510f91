package repocmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
	"github.com/cairnbackup/cairn/pkg/fsfilter"
	"github.com/cairnbackup/cairn/pkg/progress"
	"github.com/cairnbackup/cairn/pkg/restorer"
)

type restoreFlags struct {
	target             string
	includes, excludes []string
	workers            int
	filter             snapshotFilter
}

func init() {
	register("restore", &command{
		summary: "restore a snapshot (or some of its paths) into a directory",
		usage:   "SNAPSHOT",
		flags: func(fs *pflag.FlagSet, e *env) {
			f := &restoreFlags{}
			fs.StringVarP(&f.target, "target", "t", "", "directory to restore into (required); /a/b is restored to TARGET/a/b")
			fs.StringArrayVarP(&f.includes, "include", "i", nil, "restore only snapshot paths matching this pattern, directories whole (repeatable; see docs/cli.md)")
			fs.StringArrayVarP(&f.excludes, "exclude", "e", nil, "leave out snapshot paths matching this pattern, directories whole (repeatable)")
			fs.IntVar(&f.workers, "workers", 0, "chunks loaded and written at once (default CPUs, at least 2)")
			f.filter.register(fs)
			e.cmd = f
		},
		run: runRestore,
	})
}

// restoreResult is the summary; with --json it is the last line of output.
type restoreResult struct {
	Type       string         `json:"type"`   // progress.LineSummary
	Action     string         `json:"action"` // "restore"
	SnapshotID string         `json:"snapshotId"`
	Target     string         `json:"target"`
	Stats      restorer.Stats `json:"stats"`
	Duration   float64        `json:"durationSeconds"`
}

func runRestore(ctx context.Context, e *env, args []string) error {
	f := e.cmd.(*restoreFlags)
	if len(args) != 1 {
		return cli.Usagef("restore needs exactly one SNAPSHOT (an ID or 'latest'), got %d arguments", len(args))
	}
	if f.target == "" {
		return cli.Usagef("restore needs --target DIR")
	}
	if _, err := fsfilter.New(f.includes, f.excludes); err != nil {
		return cli.Usagef("%v", err)
	}
	r, err := openRepo(ctx, e)
	if err != nil {
		return err
	}
	defer r.Close()
	sn, err := findSnapshot(ctx, e, r, args[0], &f.filter)
	if err != nil {
		return err
	}
	tracker := newTracker(ctx, e, "restore")
	if tracker != nil {
		tracker.AddTotal(int64(sn.Stats.Files+sn.Stats.Dirs), int64(sn.Stats.Bytes))
		if len(f.includes) == 0 {
			tracker.TotalsDone()
		}
	}
	start := time.Now()
	st, err := restorer.Run(ctx, r, sn.Tree, restorer.Options{
		Target:   f.target,
		Include:  f.includes,
		Exclude:  f.excludes,
		Workers:  f.workers,
		Progress: tracker,
		Warn:     func(path string, err error) { e.out.Warnf("%s: %v", path, err) },
	})
	tracker.Finish()
	var noMatch *restorer.NoMatchError
	if err != nil && !errors.As(err, &noMatch) {
		return classify(err)
	}
	for _, p := range st.UnmatchedExcludes {
		e.out.Warnf("--exclude %q matched nothing in the snapshot", p)
	}
	res := restoreResult{Type: progress.LineSummary, Action: "restore", SnapshotID: sn.ID.String(), Target: f.target, Stats: st, Duration: time.Since(start).Seconds()}
	if err := e.out.Result(res, func(w io.Writer) {
		if e.opts.Quiet {
			return
		}
		fmt.Fprintf(w, "restored snapshot %s to %s: %d files, %d dirs, %d hardlinks, %s written, %d files already up to date, in %s\n",
			sn.ID.Short(), f.target, st.Files, st.Dirs, st.Links, cli.Bytes(st.BytesWritten), st.FilesSkipped, cli.Duration(time.Since(start)))
		if st.XattrsSkipped > 0 {
			fmt.Fprintf(w, "%d extended attributes could not be set (see the warnings)\n", st.XattrsSkipped)
		}
	}); err != nil {
		return err
	}
	if noMatch != nil {
		return noMatch
	}
	if st.Warnings > 0 {
		return cli.WithCode(cli.ExitPartial, fmt.Errorf("restore finished with %d warnings (see above)", st.Warnings))
	}
	return nil
}
