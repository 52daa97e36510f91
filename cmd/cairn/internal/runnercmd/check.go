package runnercmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
	"github.com/cairnbackup/cairn/pkg/runner"
)

const checkUsage = `Usage: cairn check --repository NAME [--read-data-fraction F] [--namespace NS]

Checks the integrity of the Repository's engine repository: every index,
snapshot and tree decodes, every pack the index names exists, and a random
share F of the packs is downloaded and verified blob by blob. What the
operator's periodic integrity check Job runs. The report is printed as
JSON on stdout and written to /dev/termination-log, where the operator
reads it; damage exits 12, as 'cairn repo check' does.

Flags:
`

// Check runs `cairn check` with args (after the command name).
func Check(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var q runner.CheckRequest
	var namespace, kubeconfig string
	fs := newFlagSet("check", checkUsage, stderr)
	fs.StringVar(&namespace, "namespace", os.Getenv("POD_NAMESPACE"), "namespace of the Repository (default: $POD_NAMESPACE)")
	fs.StringVar(&q.Repository, "repository", "", "the Repository whose engine repository is checked (required)")
	fs.Float64Var(&q.ReadFraction, "read-data-fraction", 0.1, "share of the packs to download and verify, 0 to 1 (0: structure only)")
	fs.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default: in-cluster, else $KUBECONFIG or ~/.kube/config)")
	if err := parse(fs, args); err != nil {
		return ignoreHelp(err)
	}
	q.Namespace = namespace
	if q.Namespace == "" || q.Repository == "" {
		return cli.Usagef("check: --repository and a namespace are required (see 'cairn check --help')")
	}
	if q.ReadFraction < 0 || q.ReadFraction > 1 {
		return cli.Usagef("check: --read-data-fraction %g must be between 0 and 1", q.ReadFraction)
	}
	r, err := newRunner(kubeconfig, "cairn-check")
	if err != nil {
		return err
	}
	rep, err := r.Check(ctx, q)
	if rep != nil {
		out := rep.Encode()
		fmt.Fprintln(stdout, string(out))
		// Best effort: outside a pod there is no termination log.
		_ = os.WriteFile(terminationLog, out, 0o644)
	}
	if errors.Is(err, runner.ErrDamaged) {
		return cli.WithCode(cli.ExitDamaged, err)
	}
	return withCode(err)
}
