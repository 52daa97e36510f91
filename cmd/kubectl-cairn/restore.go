package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/download"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/printer"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/restore"
	"github.com/cairnbackup/cairn/pkg/progress"
)

func (a *app) restoreCmd() *cobra.Command {
	var q restore.Request
	var to string
	var noWait bool
	c := &cobra.Command{
		Use:   "restore SNAPSHOT|latest --to KIND/NAME",
		Short: "Restore a snapshot into a PVC or a workload's volumes with a RestoreSession, and follow it",
		Long: `Creates a RestoreSession of the snapshot into the target and follows it with a
progress bar until it ends. KIND is pvc, deployment, statefulset or daemonset;
the target must exist. "latest" is the newest Succeeded Snapshot of the
target's Repository (--repository names another one).`,
		Example: `  kubectl cairn restore latest --to deployment/web
  kubectl cairn restore web-nightly-1764000000 --to pvc/data-copy --repository web`,
		Args:              args(1, 1, "one Snapshot name or latest"),
		ValidArgsFunction: a.completeSnapshots,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := a.format()
			if err != nil {
				return err
			}
			if to == "" {
				return fmt.Errorf("restore needs --to KIND/NAME: the PVC or workload to restore into (for example --to deployment/web)")
			}
			if q.Target, err = restore.ParseTarget(to); err != nil {
				return err
			}
			q.Snapshot = args[0]
			cl, err := a.clients()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			rs, found, err := restore.Create(ctx, cl.Kube, cl.Cairn, cl.Namespace, q, a.now())
			if err != nil {
				return err
			}
			if f == printer.Table {
				fmt.Fprintf(a.stdout, "restoresession %s/%s created: Snapshot %s of Repository %s into %s %s\n",
					rs.Namespace, rs.Name, found.Snapshot.Name, found.Repository.Name, q.Target.Kind, q.Target.Name)
			}
			if !noWait {
				bar := &printer.Bar{W: a.stderr, Terminal: a.terminal}
				rs, err = restore.Follow(ctx, cl.Cairn, cl.Namespace, rs.Name, a.poll, func(rs *corev1alpha1.RestoreSession) {
					if f != printer.Table {
						return
					}
					p := restore.ProgressOf(rs)
					label := phaseLabel(rs.Status.Phase)
					if p.Total > 0 {
						label += fmt.Sprintf(" %d/%d components", p.Done, p.Total)
					}
					bar.Update(label, p.BytesDone, p.BytesTotal, p.FilesDone, p.FilesTotal)
				})
				bar.Done()
				if err != nil {
					return err
				}
				if f == printer.Table {
					fmt.Fprintf(a.stdout, "restoresession %s/%s Succeeded in %s\n", rs.Namespace, rs.Name, rs.Status.Duration)
				}
			}
			if f != printer.Table {
				return printer.Write(a.stdout, f, rs)
			}
			return nil
		},
	}
	c.Flags().StringVar(&to, "to", "", "the target: pvc/NAME, deployment/NAME, statefulset/NAME or daemonset/NAME (required)")
	c.Flags().StringVar(&q.Repository, "repository", "", "the Repository of latest (default: the one holding the target's backups)")
	c.Flags().StringVar(&q.Name, "name", "", "name of the RestoreSession (default restore-<target>-<unix time>)")
	c.Flags().StringVar(&q.Addon, "addon", "", "the Addon that restores (default workload-addon, pvc-addon for a PVC)")
	c.Flags().StringVar(&q.Task, "task", "", "the Addon's restore task (default "+restore.RestoreTask+")")
	c.Flags().StringArrayVar(&q.Components, "component", nil, "restore only this component of the snapshot (repeatable)")
	c.Flags().BoolVar(&noWait, "no-wait", false, "create the RestoreSession and return")
	_ = c.RegisterFlagCompletionFunc("repository", a.completeRepositories)
	_ = c.RegisterFlagCompletionFunc("to", cobra.FixedCompletions([]string{"pvc/", "deployment/", "statefulset/", "daemonset/"}, cobra.ShellCompDirectiveNoSpace))
	return c
}

func phaseLabel(p corev1alpha1.RestorePhase) string {
	if p == "" {
		return string(corev1alpha1.RestorePending)
	}
	return string(p)
}

func (a *app) downloadCmd() *cobra.Command {
	var q download.Request
	c := &cobra.Command{
		Use:   "download SNAPSHOT|latest --to DIR",
		Short: "Restore a snapshot to this machine, straight from the bucket",
		Long: `Restores a snapshot into a local directory through Cairn's engine, reading the
bucket directly with the credentials of the BackupStorage's Secret and the
password of the Repository's encryption Secret (you need get on both). A
file backed up as /data/a lands in DIR/data/a; with several components,
in DIR/<component>/data/a. Nothing runs in the cluster.`,
		Example: `  kubectl cairn download latest --to ./restore
  kubectl cairn download web-nightly-1764000000 --to /tmp/web --endpoint http://localhost:9000`,
		Args:              args(1, 1, "one Snapshot name or latest"),
		ValidArgsFunction: a.completeSnapshots,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := a.format()
			if err != nil {
				return err
			}
			if q.Dir == "" {
				return fmt.Errorf("download needs --to DIR: the local directory to restore into")
			}
			if q.Dir, err = filepath.Abs(q.Dir); err != nil {
				return err
			}
			q.Snapshot = args[0]
			cl, err := a.clients()
			if err != nil {
				return err
			}
			bar := &printer.Bar{W: a.stderr, Terminal: a.terminal}
			if f == printer.Table {
				q.Progress = func(s progress.Status) {
					bar.Update("download", s.BytesDone, s.BytesTotal, s.FilesDone, s.FilesTotal)
				}
			}
			q.Warn = func(path string, err error) { fmt.Fprintf(a.stderr, "warning: %s: %v\n", path, err) }
			res, err := download.Run(cmd.Context(), cl.Kube, cl.Cairn, cl.Namespace, q)
			bar.Done()
			if res != nil && f != printer.Table {
				if werr := printer.Write(a.stdout, f, res); werr != nil {
					return werr
				}
			}
			if err != nil {
				return err
			}
			if f == printer.Table {
				for _, c := range res.Components {
					fmt.Fprintf(a.stdout, "downloaded component %s of Snapshot %s (engine snapshot %.8s) to %s: %d files, %d dirs, %s\n",
						c.Name, res.Snapshot, c.SnapshotID, c.Dir, c.Stats.Files, c.Stats.Dirs, progress.FormatBytes(c.Stats.BytesWritten))
				}
			}
			return nil
		},
	}
	c.Flags().StringVar(&q.Dir, "to", "", "local directory to restore into (required; created if missing)")
	c.Flags().StringVar(&q.Repository, "repository", "", "the Repository of latest (default: the namespace's only one)")
	c.Flags().StringArrayVar(&q.Components, "component", nil, "download only this component (repeatable)")
	c.Flags().StringVar(&q.Endpoint, "endpoint", "", "reach an s3 storage at this URL instead of its spec.storage.s3.endpoint (a port-forward, say)")
	_ = c.RegisterFlagCompletionFunc("repository", a.completeRepositories)
	_ = c.MarkFlagDirname("to")
	return c
}
