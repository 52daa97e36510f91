package repocmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
	"github.com/cairnbackup/cairn/pkg/archiver"
	"github.com/cairnbackup/cairn/pkg/fsfilter"
	"github.com/cairnbackup/cairn/pkg/progress"
	"github.com/cairnbackup/cairn/pkg/repo"
)

type backupFlags struct {
	tags, excludes, includes []string
	host, parent, maxMemory  string
	oneFS, force             bool
	fileWorkers, blobWorkers int
}

func init() {
	register("backup", &command{
		summary: "back up files and directories into a new snapshot",
		usage:   "PATH...",
		flags: func(fs *pflag.FlagSet, e *env) {
			b := &backupFlags{}
			fs.StringSliceVar(&b.tags, "tag", nil, "tag the snapshot (repeatable)")
			fs.StringVar(&b.host, "host", "", "hostname recorded in the snapshot (default: this host)")
			fs.StringArrayVarP(&b.excludes, "exclude", "e", nil, "skip paths matching this pattern (repeatable; see docs/cli.md)")
			fs.StringArrayVar(&b.includes, "include", nil, "only save files matching this pattern (repeatable)")
			fs.BoolVarP(&b.oneFS, "one-file-system", "x", false, "do not cross mount points below the given paths")
			fs.StringVar(&b.parent, "parent", "", "snapshot to compare with to skip unchanged files (default: latest of the same host and paths)")
			fs.BoolVar(&b.force, "force", false, "read every file, ignoring any parent snapshot")
			fs.IntVar(&b.fileWorkers, "file-workers", 0, "files read at once (default CPUs, at least 2)")
			fs.IntVar(&b.blobWorkers, "blob-workers", 0, "chunks compressed, encrypted and stored at once (default CPUs)")
			fs.StringVar(&b.maxMemory, "max-memory", "8MiB", "bound on chunk data held in flight")
			e.cmd = b
		},
		run: runBackup,
	})
}

// backupResult is the summary; with --json it is the last line of output.
type backupResult struct {
	Type       string         `json:"type"`   // progress.LineSummary
	Action     string         `json:"action"` // "backup"
	SnapshotID string         `json:"snapshotId"`
	Parent     string         `json:"parent,omitempty"`
	Stats      archiver.Stats `json:"stats"`
	Duration   float64        `json:"durationSeconds"`
}

func runBackup(ctx context.Context, e *env, args []string) error {
	b := e.cmd.(*backupFlags)
	if len(args) == 0 {
		return cli.Usagef("backup needs at least one PATH")
	}
	for _, p := range args {
		if _, err := os.Lstat(p); err != nil {
			return cli.Usagef("cannot back up %s: %v", p, err)
		}
	}
	filter, err := fsfilter.New(b.includes, b.excludes)
	if err != nil {
		return cli.Usagef("%v", err)
	}
	maxMem, err := cli.ParseSize(b.maxMemory)
	if err != nil {
		return cli.Usagef("--max-memory: %v", err)
	}
	host := b.host
	if host == "" {
		host, _ = os.Hostname()
	}
	r, err := openRepo(ctx, e)
	if err != nil {
		return err
	}
	defer r.Close()

	parent, err := chooseParent(ctx, e, r, b, host, args)
	if err != nil {
		return err
	}
	if parent != nil {
		e.out.Infof("using parent snapshot %s", parent.ID.Short())
	}
	var warnings int
	opts := archiver.Options{
		Paths:         args,
		Filter:        filter,
		OneFileSystem: b.oneFS,
		FileWorkers:   b.fileWorkers,
		BlobWorkers:   b.blobWorkers,
		MaxMemory:     maxMem,
		Warn: func(path string, err error) {
			warnings++
			e.out.Warnf("%s: %v", path, err)
		},
	}
	tracker := newTracker(ctx, e, "backup")
	opts.Progress = tracker
	start := time.Now()
	sn, st, err := archiver.Backup(ctx, r, opts, archiver.SnapshotOptions{Hostname: host, Tags: b.tags, Parent: parent})
	tracker.Finish()
	if err != nil {
		return classify(err)
	}
	res := backupResult{Type: progress.LineSummary, Action: "backup", SnapshotID: sn.ID.String(), Stats: st, Duration: time.Since(start).Seconds()}
	if parent != nil {
		res.Parent = parent.ID.String()
	}
	if err := e.out.Result(res, func(w io.Writer) {
		if e.opts.Quiet {
			return
		}
		fmt.Fprintf(w, "Files: %d new, %d changed, %d unchanged; %d directories\n", st.FilesRead-st.FilesChanged, st.FilesChanged, st.FilesUnchanged, st.Dirs)
		fmt.Fprintf(w, "Data:  %s read, %s new in %d chunks, %s stored\n", cli.Bytes(st.BytesRead), cli.Bytes(st.BytesAdded), st.BlobsNew, cli.Bytes(st.BytesStored))
		fmt.Fprintf(w, "snapshot %s saved in %s\n", sn.ID.Short(), cli.Duration(time.Since(start)))
	}); err != nil {
		return err
	}
	if warnings > 0 || st.Warnings > 0 {
		return cli.WithCode(cli.ExitPartial, fmt.Errorf("snapshot %s saved, but %d files could not be read (see the warnings above)", sn.ID.Short(), st.Warnings))
	}
	return nil
}

func chooseParent(ctx context.Context, e *env, r *repo.Repository, b *backupFlags, host string, paths []string) (*repo.Snapshot, error) {
	if b.force {
		return nil, nil
	}
	if b.parent != "" {
		return findSnapshot(ctx, e, r, b.parent, nil)
	}
	all, err := listSnapshots(ctx, e, r)
	if err != nil {
		return nil, err
	}
	return archiver.FindParent(all, host, paths), nil
}

// newTracker returns a progress tracker that prints status lines on stdout
// every second with --json, draws a bar when stderr is a terminal, and is
// nil (nothing to report) otherwise or with --quiet.
func newTracker(ctx context.Context, e *env, verb string) *progress.Tracker {
	if e.opts.Quiet {
		return nil
	}
	if e.opts.JSON {
		return progress.New(ctx, progress.JSONLines(e.out.Stdout, verb), time.Second)
	}
	if f, ok := e.stderr.(*os.File); ok && cli.IsTerminal(f) {
		bar := &cli.ProgressBar{W: e.stderr, Verb: verb}
		return progress.New(ctx, bar.Update, 250*time.Millisecond)
	}
	return nil
}
