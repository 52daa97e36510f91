// Package triggercmd is `cairn trigger`: what a BackupConfiguration's
// trigger CronJob runs on each schedule. It creates one BackupSession of
// the session it is given, with the pod's ServiceAccount (whose Role allows
// only that), and prints its name.
package triggercmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
	"github.com/cairnbackup/cairn/pkg/trigger"
)

const usage = `Usage: cairn trigger --backup-configuration NAME --session NAME [--namespace NS] [--kubeconfig FILE]

Creates a BackupSession of one session of a BackupConfiguration, as its
trigger CronJob does on schedule. In a pod it uses the pod's ServiceAccount
and namespace (POD_NAMESPACE); elsewhere --kubeconfig or $KUBECONFIG.
A paused configuration is not triggered, nor one whose target a
RestoreSession is restoring (status.pausedBackups): exit 0, with a message.

Flags:
`

// Main runs `cairn trigger` with args (after the command name).
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("cairn trigger", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage+fs.FlagUsages()) }
	config := fs.String("backup-configuration", "", "the BackupConfiguration to trigger (required)")
	session := fs.String("session", "", "the session of the configuration (required)")
	namespace := fs.String("namespace", os.Getenv("POD_NAMESPACE"), "namespace of the BackupConfiguration (default: $POD_NAMESPACE)")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file (default: in-cluster, else $KUBECONFIG or ~/.kube/config)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return cli.Usagef("%v", err)
	}
	switch {
	case *config == "" || *session == "":
		return cli.Usagef("--backup-configuration and --session are required (see 'cairn trigger --help')")
	case *namespace == "":
		return cli.Usagef("no namespace: pass --namespace (in a pod, POD_NAMESPACE sets it)")
	}
	cfg, err := cli.RESTConfig(*kubeconfig)
	if err != nil {
		return err
	}
	cfg.UserAgent = "cairn-trigger"
	client, err := cairnclient.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("creating the API client: %w", err)
	}
	bs, err := trigger.Create(ctx, client, *namespace, *config, *session, time.Now())
	if errors.Is(err, trigger.ErrPaused) || errors.Is(err, trigger.ErrRestoreRunning) {
		fmt.Fprintf(stdout, "%v: not triggered\n", err)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backupsession %s/%s created\n", bs.Namespace, bs.Name)
	return nil
}
