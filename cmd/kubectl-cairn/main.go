// Command kubectl-cairn is the kubectl plugin `kubectl cairn`: the
// everyday commands of a Cairn user (back up now, pause, see the state of
// every schedule, list snapshots, restore, download a snapshot to this
// machine, read a session's logs) on top of the objects the operator
// manages. Put it on the PATH and kubectl finds it. The commands' logic
// lives in pkg/kubectlcairn/...; this package is the command line only.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot(os.Stdout, os.Stderr).ExecuteContext(ctx)
	interrupted := ctx.Err() != nil
	stop()
	if err != nil {
		if interrupted {
			err = fmt.Errorf("interrupted: %w", err)
		}
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}
