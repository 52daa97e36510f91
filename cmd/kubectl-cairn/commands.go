package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/backup"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/kubeflags"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/logs"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/pause"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/printer"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/snapshots"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/status"
	"github.com/cairnbackup/cairn/pkg/trigger"
)

func (a *app) triggerCmd() *cobra.Command {
	var session string
	var wait bool
	c := &cobra.Command{
		Use:   "trigger CONFIG [--session NAME] [--wait]",
		Short: "Back up now: create a BackupSession as the schedule's CronJob would",
		Example: `  kubectl cairn trigger web
  kubectl cairn trigger web --session nightly --wait`,
		Args:              args(1, 1, "one BackupConfiguration name"),
		ValidArgsFunction: a.completeConfigs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, cl, err := a.setup()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			bs, err := backup.Trigger(ctx, cl.Cairn, cl.Namespace, args[0], session, a.now())
			if errors.Is(err, trigger.ErrPaused) {
				return fmt.Errorf("%w: not triggered (kubectl cairn resume %s resumes it)", err, args[0])
			}
			if err != nil {
				return err
			}
			if f == printer.Table {
				fmt.Fprintf(a.stdout, "backupsession %s/%s created\n", bs.Namespace, bs.Name)
			}
			if wait {
				bs, err = backup.Wait(ctx, cl.Cairn, cl.Namespace, bs.Name, a.poll, func(bs *corev1alpha1.BackupSession) {
					if bs.Status.Phase != "" && f == printer.Table {
						fmt.Fprintf(a.stderr, "backupsession %s: %s\n", bs.Name, bs.Status.Phase)
					}
				})
				if err != nil {
					return err
				}
			}
			if f != printer.Table {
				return printer.Write(a.stdout, f, bs)
			}
			return nil
		},
	}
	c.Flags().StringVar(&session, "session", "", "the session of the configuration (default: its only session)")
	c.Flags().BoolVarP(&wait, "wait", "w", false, "wait until the backup is finished; fail unless it succeeded")
	_ = c.RegisterFlagCompletionFunc("session", a.completeSessions)
	return c
}

func (a *app) pauseCmd(paused bool) *cobra.Command {
	use, short, done := "pause", "Pause a BackupConfiguration's schedules (spec.paused)", "paused"
	if !paused {
		use, short, done = "resume", "Resume a paused BackupConfiguration's schedules", "resumed"
	}
	return &cobra.Command{
		Use:               use + " CONFIG",
		Short:             short,
		Args:              args(1, 1, "one BackupConfiguration name"),
		ValidArgsFunction: a.completeConfigs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, cl, err := a.setup()
			if err != nil {
				return err
			}
			bc, changed, err := pause.Set(cmd.Context(), cl.Cairn, cl.Namespace, args[0], paused)
			if err != nil {
				return err
			}
			if f != printer.Table {
				return printer.Write(a.stdout, f, bc)
			}
			if changed {
				fmt.Fprintf(a.stdout, "backupconfiguration %s/%s %s\n", bc.Namespace, bc.Name, done)
			} else {
				fmt.Fprintf(a.stdout, "backupconfiguration %s/%s was already %s\n", bc.Namespace, bc.Name, done)
			}
			return nil
		},
	}
}

func (a *app) statusCmd() *cobra.Command {
	return a.listCmd(&cobra.Command{
		Use:   "status [CONFIG]",
		Short: "How every BackupConfiguration is doing: last backup, last success, next run, size",
		Example: `  kubectl cairn status
  kubectl cairn status web -o yaml`,
		Args:              args(0, 1, "at most one BackupConfiguration name"),
		ValidArgsFunction: a.completeConfigs,
	}, "BackupConfigurations", func(ctx context.Context, cl *kubeflags.Clients, ns, name string) (any, int, table, error) {
		rows, err := status.Rows(ctx, cl.Cairn, ns, name)
		return rows, len(rows), func(w io.Writer, now time.Time, all bool) error { return status.WriteTable(w, rows, now, all) }, err
	})
}

func (a *app) snapshotsCmd() *cobra.Command {
	return a.listCmd(&cobra.Command{
		Use:               "snapshots [REPOSITORY]",
		Short:             "List Snapshots, newest first (of one Repository, or all)",
		Args:              args(0, 1, "at most one Repository name"),
		ValidArgsFunction: a.completeRepositories,
	}, "Snapshots", func(ctx context.Context, cl *kubeflags.Clients, ns, name string) (any, int, table, error) {
		rows, err := snapshots.List(ctx, cl.Cairn, ns, name)
		return rows, len(rows), func(w io.Writer, now time.Time, all bool) error { return snapshots.WriteTable(w, rows, now, all) }, err
	})
}

// table prints rows, with a NAMESPACE column when all is set.
type table func(w io.Writer, now time.Time, all bool) error

// lister reads the rows of a list command in namespace ns ("" for all)
// for the optional name argument: the rows (what -o prints), their count
// and how to print them as a table.
type lister func(ctx context.Context, cl *kubeflags.Clients, ns, name string) (rows any, n int, t table, err error)

// listCmd gives c a RunE that prints what read returns as -o asks, or as
// a table; no rows is a message on stderr naming the kind. It adds
// kubectl's -A.
func (a *app) listCmd(c *cobra.Command, kind string, read lister) *cobra.Command {
	var all bool
	c.Flags().BoolVarP(&all, "all-namespaces", "A", false, "list across all namespaces")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		f, cl, err := a.setup()
		if err != nil {
			return err
		}
		name, ns, where := "", cl.Namespace, "namespace "+cl.Namespace
		if len(args) == 1 {
			name = args[0]
		}
		if all {
			if name != "" {
				return fmt.Errorf("a name and --all-namespaces do not go together: a name is looked up in one namespace (-n)")
			}
			ns, where = "", "any namespace"
		}
		rows, n, print, err := read(cmd.Context(), cl, ns, name)
		if err != nil {
			return err
		}
		if f != printer.Table {
			return printer.Write(a.stdout, f, rows)
		}
		if n == 0 {
			fmt.Fprintf(a.stderr, "No %s in %s.\n", kind, where)
			return nil
		}
		return print(a.stdout, a.now(), all)
	}
	return c
}

func (a *app) logsCmd() *cobra.Command {
	var o logs.Options
	c := &cobra.Command{
		Use:               "logs SESSION",
		Short:             "Print the logs of a BackupSession's or RestoreSession's pods",
		Args:              args(1, 1, "one BackupSession or RestoreSession name"),
		ValidArgsFunction: a.completeSessionObjects,
		RunE: func(cmd *cobra.Command, args []string) error {
			if a.output != "" {
				return errNoOutput
			}
			cl, err := a.clients()
			if err != nil {
				return err
			}
			return logs.Write(cmd.Context(), cl.Kube, cl.Cairn, cl.Namespace, args[0], a.stdout, o)
		},
	}
	c.Flags().BoolVarP(&o.Follow, "follow", "f", false, "stream the logs of running pods until they end")
	c.Flags().Int64Var(&o.TailLines, "tail", 0, "only the last lines of each container (0: all)")
	return c
}
