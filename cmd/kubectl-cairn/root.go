package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/cairnbackup/cairn/pkg/kubectlcairn/kubeflags"
	"github.com/cairnbackup/cairn/pkg/kubectlcairn/printer"
)

// app is what every command shares: the connection flags, -o, the
// output streams and the clock.
type app struct {
	kube   *kubeflags.Flags
	output string
	stdout io.Writer
	stderr io.Writer
	now    func() time.Time
	// terminal says whether stderr is a terminal (progress bars redraw).
	terminal bool
	// poll is how often a followed session is read.
	poll time.Duration
}

func (a *app) format() (printer.Format, error) { return printer.ParseFormat(a.output) }

func (a *app) clients() (*kubeflags.Clients, error) { return a.kube.Clients() }

// setup reads -o and connects: what every command that talks to the
// cluster does first, so a bad -o fails before any request.
func (a *app) setup() (printer.Format, *kubeflags.Clients, error) {
	f, err := a.format()
	if err != nil {
		return "", nil, err
	}
	cl, err := a.clients()
	return f, cl, err
}

// newRoot builds `kubectl cairn` and its subcommands.
func newRoot(stdout, stderr io.Writer) *cobra.Command {
	a := &app{kube: kubeflags.New(), stdout: stdout, stderr: stderr, now: time.Now, poll: time.Second}
	if f, ok := stderr.(*os.File); ok {
		a.terminal = term.IsTerminal(int(f.Fd()))
	}
	root := &cobra.Command{
		Use:   "kubectl-cairn",
		Short: "Back up and restore Kubernetes workloads with Cairn",
		Long: `kubectl cairn works with Cairn's backups: back up now, pause and resume
schedules, see how every schedule is doing, list snapshots, restore one in
the cluster or download it to this machine, and read a session's logs.

The connection flags are kubectl's (--kubeconfig, --context, -n, ...).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations: map[string]string{
			// Completion and help say "kubectl cairn", as kubectl runs it.
			cobra.CommandDisplayNameAnnotation: "kubectl cairn",
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())
	})
	a.kube.Bind(root.PersistentFlags())
	root.PersistentFlags().StringVarP(&a.output, "output", "o", "", "output format: json or yaml (default a table or a message)")
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"json", "yaml"}, cobra.ShellCompDirectiveNoFileComp))
	_ = root.RegisterFlagCompletionFunc("namespace", a.completeNamespaces)
	root.AddCommand(
		a.triggerCmd(), a.pauseCmd(true), a.pauseCmd(false), a.statusCmd(), a.snapshotsCmd(),
		a.restoreCmd(), a.downloadCmd(), a.logsCmd(), a.convertCmd(), a.versionCmd(),
	)
	return root
}

// args checks the number of positional arguments with a message that
// names them.
func args(min, max int, names string) cobra.PositionalArgs {
	return func(c *cobra.Command, a []string) error {
		if len(a) < min || len(a) > max {
			return fmt.Errorf("%s takes %s, got %d argument(s) (see '%s --help')", c.CommandPath(), names, len(a), c.CommandPath())
		}
		return nil
	}
}

// Usage errors of single commands.
var (
	// errNoOutput is returned for -o on a command that prints no object.
	errNoOutput = errors.New("this command prints no object: -o does not apply")
	// errMissingF is returned by convert without -f.
	errMissingF = errors.New("convert needs -f FILE|DIR|- (repeatable): the KubeStash YAML to convert")
)
