// Command cairn-cluster starts and stops the local test cluster outside of
// `go test`, for `make cluster-up` / `make cluster-down` and for the demo:
//
//	cairn-cluster up       start (or reuse) the cluster and print the kubeconfig
//	cairn-cluster down     stop it and remove its state
//	cairn-cluster status   say whether it runs
//	cairn-cluster import TAR...  load image tarballs into the node
//
// Integration tests attach to a cluster started this way and leave it
// running, which makes repeated test runs fast.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cairnbackup/cairn/test/cluster"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "cairn-cluster:", err)
		os.Exit(1)
	}
}

const usage = "usage: cairn-cluster up|down|status|import TAR..."

func run(args []string) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := cluster.Options{Log: os.Stderr}
	switch args[0] {
	case "up":
		start := time.Now()
		c, err := cluster.Up(ctx, opts)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "cluster up after %s\n", time.Since(start).Round(time.Second))
		fmt.Printf("export KUBECONFIG=%s\n", c.Kubeconfig())
		return nil
	case "down":
		return cluster.Down(opts)
	case "status":
		c, err := cluster.Attach(ctx, opts)
		if err != nil {
			return err
		}
		fmt.Printf("running; export KUBECONFIG=%s\n", c.Kubeconfig())
		return nil
	case "import":
		c, err := cluster.Attach(ctx, opts)
		if err != nil {
			return err
		}
		for _, tar := range args[1:] {
			if err := c.ImportImage(ctx, tar); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown command %q; %s", args[0], usage)
}
