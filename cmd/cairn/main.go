// Command cairn is Cairn's command-line tool. `cairn repo ...` works on a
// backup repository directly, with no cluster: a user can restore straight
// from the bucket when the cluster is gone. The in-cluster runner's
// subcommands live in the same binary.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	_ "time/tzdata" // time zones resolve on a scratch image too

	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
	"github.com/cairnbackup/cairn/cmd/cairn/internal/repocmd"
	"github.com/cairnbackup/cairn/cmd/cairn/internal/runnercmd"
	"github.com/cairnbackup/cairn/cmd/cairn/internal/storagecmd"
	"github.com/cairnbackup/cairn/cmd/cairn/internal/triggercmd"
	"github.com/cairnbackup/cairn/pkg/version"
)

const usage = `cairn - Kubernetes backup and restore, and its repository tool

Usage:
  cairn repo <command> [flags]   work on a backup repository (see 'cairn repo help')
  cairn trigger [flags]          create a BackupSession now (what a schedule's CronJob runs)
  cairn backup [flags]           back up one component of a Snapshot (what a backup Job runs)
  cairn restore [flags]          restore one component of a RestoreSession (what a restore Job runs)
  cairn retention [flags]        forget what a retention policy dropped and prune (what a retention Job runs)
  cairn check [flags]            check a Repository's integrity (what an integrity check Job runs)
  cairn volume-snapshot [flags]  take CSI VolumeSnapshots of a component's claims (what a volume-snapshot Job runs)
  cairn volume-snapshot-restore [flags]
                                 create claims from a component's VolumeSnapshots (what a volume-snapshot-restore Job runs)
  cairn version                  print the version and commit this binary was built from
  cairn help                     show this help

Exit codes: 0 ok, 1 failure, 2 usage error, 3 partial (some files skipped),
10 no repository, 11 wrong password, 12 damaged data, 130 interrupted.
`

func main() {
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfiles := startProfiles()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stopProfiles()
	stop()
	os.Exit(code)
}

// tuneGC gives the garbage collector a quarter of the live heap as
// headroom (GOGC 25 instead of 100) unless the user set GOGC. The backup
// and restore pipelines reuse their chunk buffers, so they make little
// garbage and collections stay rare; the default would let the process
// grow to twice its live heap. Measured on the Go tree: backup peak RSS
// 74 -> 55 MB, restore 60 -> 50 MB, CPU time unchanged.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(25)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return cli.ExitUsage
	}
	var err error
	switch args[0] {
	case "repo":
		err = repocmd.Main(ctx, args[1:], stdin, stdout, stderr)
	case "storage":
		err = storagecmd.Main(ctx, args[1:], stdout, stderr)
	case "trigger":
		err = triggercmd.Main(ctx, args[1:], stdout, stderr)
	case "backup":
		err = runnercmd.Backup(ctx, args[1:], stdout, stderr)
	case "restore":
		err = runnercmd.Restore(ctx, args[1:], stdout, stderr)
	case "retention":
		err = runnercmd.Retention(ctx, args[1:], stdout, stderr)
	case "check":
		err = runnercmd.Check(ctx, args[1:], stdout, stderr)
	case "volume-snapshot":
		err = runnercmd.VolumeSnapshot(ctx, args[1:], stdout, stderr)
	case "volume-snapshot-restore":
		err = runnercmd.VolumeSnapshotRestore(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "cairn %s\n", version.Get())
		return cli.ExitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return cli.ExitOK
	default:
		fmt.Fprintf(stderr, "cairn: unknown command %q\n\n%s", args[0], usage)
		return cli.ExitUsage
	}
	if err == nil {
		return cli.ExitOK
	}
	code := cli.CodeOf(err)
	if ctx.Err() != nil {
		code = cli.ExitInterrupted
		err = fmt.Errorf("interrupted: %w", err)
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintf(stderr, "cairn: %s\n", msg)
	}
	return code
}
