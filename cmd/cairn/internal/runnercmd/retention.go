package runnercmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
	"github.com/cairnbackup/cairn/pkg/runner"
)

const retentionUsage = `Usage: cairn retention --repository NAME [--forget ID[,ID...]] [--owner TEXT] [--namespace NS]

Forgets the engine snapshots the operator's retention plan dropped, then
prunes the Repository's engine repository under its prune lock. What a
retention Job runs after a successful backup. The result is printed as
JSON on stdout and written to /dev/termination-log, where the operator
reads it.

Flags:
`

// terminationLog is where a container's result reaches its pod status.
var terminationLog = "/dev/termination-log"

// Retention runs `cairn retention` with args (after the command name).
func Retention(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var q runner.RetentionRequest
	var namespace, kubeconfig string
	fs := newFlagSet("retention", retentionUsage, stderr)
	fs.StringVar(&namespace, "namespace", os.Getenv("POD_NAMESPACE"), "namespace of the Repository (default: $POD_NAMESPACE)")
	fs.StringVar(&q.Repository, "repository", "", "the Repository whose engine repository is pruned (required)")
	fs.StringSliceVar(&q.Forget, "forget", nil, "engine snapshot IDs to forget before the prune")
	fs.StringVar(&q.Owner, "owner", "", "who holds the prune lock, for whoever finds it taken")
	fs.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default: in-cluster, else $KUBECONFIG or ~/.kube/config)")
	if err := parse(fs, args); err != nil {
		return ignoreHelp(err)
	}
	q.Namespace, q.Forget = namespace, nonEmpty(q.Forget)
	if q.Namespace == "" || q.Repository == "" {
		return cli.Usagef("retention: --repository and a namespace are required (see 'cairn retention --help')")
	}
	r, err := newRunner(kubeconfig, "cairn-retention")
	if err != nil {
		return err
	}
	res, err := r.Retention(ctx, q)
	if err != nil {
		return withCode(err)
	}
	out, _ := json.Marshal(res)
	fmt.Fprintln(stdout, string(out))
	// Best effort: outside a pod there is no termination log.
	_ = os.WriteFile(terminationLog, out, 0o644)
	return nil
}
