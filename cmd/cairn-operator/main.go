// Command cairn-operator runs Cairn's controllers: generated informers feed
// one named, rate-limited workqueue per kind into a small state machine per
// kind (pkg/controller/...). It is wiring only: flags, clients, leader
// election, signals, and the metrics and probe endpoints.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	_ "time/tzdata" // CronJob time zones resolve on a scratch image too

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	"github.com/cairnbackup/cairn/pkg/version"
)

func main() {
	klog.InitFlags(nil)
	tuneGC()
	os.Exit(run(os.Args[1:]))
}

// tuneGC lets the heap grow by half its live size between collections (GOGC
// 50 instead of 100) unless the user set GOGC: the operator's live heap is
// its informer caches, so the default would let its memory reach twice
// them; the collector's extra CPU is small next to the API round trips.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
}

func run(args []string) int {
	o, fs, err := parseOptions(args)
	if errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "cairn-operator: %v\n\n%s", err, fs.FlagUsages())
		return 2
	}
	if o.showVersion {
		fmt.Printf("cairn-operator %s\n", version.Get())
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := klog.Background().WithName("cairn-operator")
	ctx = klog.NewContext(ctx, logger)
	logger.Info("Starting", "version", version.Get().String(), "namespace", o.namespace, "leaderElect", o.leaderElect)
	if err := runOperator(ctx, o); err != nil {
		logger.Error(err, "Operator failed")
		return 1
	}
	logger.Info("Stopped")
	return 0
}
