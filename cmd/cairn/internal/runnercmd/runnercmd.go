// Package runnercmd is `cairn backup` and `cairn restore`: the commands the
// operator's backup and restore Jobs run (the Functions cairn-backup and
// cairn-restore). They parse flags, build API clients from the pod's
// ServiceAccount, and hand over to pkg/runner, which reads everything else
// through the API and writes the component's status; the exit codes are
// those of `cairn repo`.
package runnercmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/restorer"
	"github.com/cairnbackup/cairn/pkg/runner"
)

const backupUsage = `Usage: cairn backup --backup-session NAME --snapshot NAME --component NAME --paths P[,P...] [--exclude E[,E...]] [--namespace NS]

Backs up the paths (where the target's volumes are mounted in this pod) as
one component of a Snapshot of a BackupSession, into the engine repository
of the Snapshot's Repository, and records the outcome in the Snapshot's
status.components. What a backup Job runs; the operator fills the flags.

Flags:
`

const restoreUsage = `Usage: cairn restore --restore-session NAME --component NAME [--target-path DIR] [--delete-extra] [--namespace NS]

Restores one component of the RestoreSession's snapshot into the paths it
was backed up from (under --target-path), and records the outcome in the
RestoreSession's status.components. The snapshot's files are overwritten
and other files are kept, unless --delete-extra removes them. What a
restore Job runs.

Flags:
`

// commonFlags are the flags both commands take.
type commonFlags struct {
	namespace, kubeconfig, component string
}

func (c *commonFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.namespace, "namespace", os.Getenv("POD_NAMESPACE"), "namespace of the session (default: $POD_NAMESPACE)")
	fs.StringVar(&c.component, "component", "", "the component this Job handles, e.g. dump or dump-pod-0 (required)")
	fs.StringVar(&c.kubeconfig, "kubeconfig", "", "kubeconfig file (default: in-cluster, else $KUBECONFIG or ~/.kube/config)")
}

// Backup runs `cairn backup` with args (after the command name).
func Backup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c commonFlags
	var q runner.BackupRequest
	fs := newFlagSet("backup", backupUsage, stderr)
	c.register(fs)
	fs.StringVar(&q.BackupSession, "backup-session", "", "the BackupSession being run (required)")
	fs.StringVar(&q.Snapshot, "snapshot", "", "the Snapshot object this component belongs to (required)")
	fs.StringSliceVar(&q.Paths, "paths", nil, "absolute paths to back up, comma-separated (required)")
	fs.StringSliceVar(&q.Exclude, "exclude", nil, "patterns of paths to leave out, comma-separated")
	if err := parse(fs, args); err != nil {
		return ignoreHelp(err)
	}
	q.Namespace, q.Component = c.namespace, c.component
	q.Paths, q.Exclude = nonEmpty(q.Paths), nonEmpty(q.Exclude)
	if err := q.Validate(); err != nil {
		return cli.Usagef("backup: %v (see 'cairn backup --help')", err)
	}
	r, err := newRunner(c.kubeconfig, "cairn-backup")
	if err != nil {
		return err
	}
	res, err := r.Backup(ctx, q)
	if res != nil {
		fmt.Fprintf(stdout, "component %s of snapshot %s: engine snapshot %s saved in %s (%d files read, %d unchanged, %d bytes stored)\n",
			q.Component, q.Snapshot, res.SnapshotID, res.Duration.Round(1e6), res.Stats.FilesRead, res.Stats.FilesUnchanged, res.Stats.BytesStored)
	}
	return withCode(err)
}

// Restore runs `cairn restore` with args (after the command name).
func Restore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c commonFlags
	var q runner.RestoreRequest
	fs := newFlagSet("restore", restoreUsage, stderr)
	c.register(fs)
	fs.StringVar(&q.RestoreSession, "restore-session", "", "the RestoreSession being run (required)")
	fs.StringVar(&q.TargetPath, "target-path", "/", "directory the snapshot's absolute paths are restored under")
	fs.StringVar(&q.Snapshot, "snapshot", "", "the Snapshot object to restore, as the operator resolved it (default: the session's spec.dataSource.snapshot)")
	fs.BoolVar(&q.DeleteExtra, "delete-extra", false, "remove, below the backed-up paths, files the snapshot does not hold (the restore task's deleteExtra param)")
	if err := parse(fs, args); err != nil {
		return ignoreHelp(err)
	}
	q.Namespace, q.Component = c.namespace, c.component
	if err := q.Validate(); err != nil {
		return cli.Usagef("restore: %v (see 'cairn restore --help')", err)
	}
	r, err := newRunner(c.kubeconfig, "cairn-restore")
	if err != nil {
		return err
	}
	res, err := r.Restore(ctx, q)
	if res != nil {
		fmt.Fprintf(stdout, "component %s of snapshot %s restored under %s in %s (%d files, %d bytes written, %d already up to date, %d not in the snapshot removed)\n",
			q.Component, res.Snapshot, q.TargetPath, res.Duration.Round(1e6), res.Stats.Files, res.Stats.BytesWritten, res.Stats.FilesSkipped, res.Stats.Deleted)
	}
	return withCode(err)
}

func newFlagSet(name, usage string, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet("cairn "+name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage+fs.FlagUsages()) }
	fs.SortFlags = false
	return fs
}

// errHelp ends a command that printed its help: exit 0.
var errHelp = errors.New("help shown")

func parse(fs *pflag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, pflag.ErrHelp):
		return errHelp
	case err != nil:
		return cli.Usagef("%s: %v", fs.Name(), err)
	case fs.NArg() > 0:
		return cli.Usagef("%s takes no arguments, got %q", fs.Name(), strings.Join(fs.Args(), " "))
	}
	return nil
}

// ignoreHelp makes a help request a success.
func ignoreHelp(err error) error {
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

// nonEmpty drops the empty items an unset Function parameter leaves
// ("--exclude=").
func nonEmpty(items []string) []string {
	var out []string
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// withCode gives err the exit code `cairn repo` uses for the same cause.
// The message is already the component's status error.
func withCode(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, runner.ErrPartial):
		return cli.WithCode(cli.ExitPartial, err)
	case errors.Is(err, repo.ErrNoRepository):
		return cli.WithCode(cli.ExitNoRepository, err)
	case errors.Is(err, repo.ErrWrongPassword):
		return cli.WithCode(cli.ExitWrongPassword, err)
	case errors.Is(err, repo.ErrCorrupt), errors.Is(err, restorer.ErrMissingChunk):
		return cli.WithCode(cli.ExitDamaged, err)
	}
	return err
}

// newRunner builds the API clients: the pod's ServiceAccount in a Job,
// a kubeconfig elsewhere. Tests replace it to run the commands on fake
// clients.
var newRunner = func(kubeconfig, agent string) (*runner.Runner, error) {
	_, c, k, err := apiClients(kubeconfig, agent)
	if err != nil {
		return nil, err
	}
	return &runner.Runner{Cairn: c, Kube: k}, nil
}

// apiClients connects as agent: the pod's ServiceAccount in a Job, a
// kubeconfig elsewhere.
func apiClients(kubeconfig, agent string) (*rest.Config, cairnclient.Interface, kubernetes.Interface, error) {
	cfg, err := cli.RESTConfig(kubeconfig)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg.UserAgent = agent
	c, err := cairnclient.NewForConfig(cfg)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("creating the API client: %w", err)
	}
	k, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("creating the API client: %w", err)
	}
	return cfg, c, k, nil
}
