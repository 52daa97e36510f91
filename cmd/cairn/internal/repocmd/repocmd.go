// Package repocmd implements `cairn repo ...`: the engine commands that work
// on a repository directly (init, backup, restore, snapshots, ls, forget,
// prune, check, stats, key).
package repocmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/repo/maint"
)

// command is one `cairn repo` subcommand.
type command struct {
	summary string
	usage   string // argument synopsis after the command name
	// flags registers command-specific flags.
	flags func(fs *pflag.FlagSet, e *env)
	run   func(ctx context.Context, e *env, args []string) error
}

// env is what a running command has access to.
type env struct {
	name   string
	opts   cli.RepoOptions
	out    *cli.Output
	stdin  io.Reader
	stderr io.Writer
	// prompt asks for passwords when stdin is a terminal; nil otherwise.
	prompt *cli.Prompter
	// cmd holds command-specific flag values.
	cmd any
}

var commands = map[string]*command{}

func register(name string, c *command) { commands[name] = c }

// Main runs `cairn repo <args>`.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				return printCommandHelp(stdout, args[1], c)
			}
		}
		printUsage(stdout)
		if len(args) == 0 {
			return cli.Usagef("no command given")
		}
		return nil
	}
	c, ok := commands[args[0]]
	if !ok {
		printUsage(stderr)
		return cli.Usagef("unknown command %q", args[0])
	}
	e := &env{name: args[0], stdin: stdin, stderr: stderr}
	fs := newFlagSet(args[0], c, e)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fs.SetOutput(stdout)
			return printCommandHelp(stdout, args[0], c)
		}
		return cli.Usagef("%s: %v (see 'cairn repo help %s')", args[0], err, args[0])
	}
	e.out = &cli.Output{JSON: e.opts.JSON, Quiet: e.opts.Quiet, Stdout: stdout, Stderr: stderr}
	e.prompt = cli.NewPrompter(stdin, stderr)
	return c.run(ctx, e, fs.Args())
}

func newFlagSet(name string, c *command, e *env) *pflag.FlagSet {
	fs := pflag.NewFlagSet("cairn repo "+name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	e.opts.Register(fs)
	if c.flags != nil {
		c.flags(fs, e)
	}
	fs.SortFlags = false
	return fs
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: cairn repo <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'cairn repo help <command>' for its flags. The repository comes from --repo or $CAIRN_REPOSITORY,")
	fmt.Fprintln(w, "the password from --password-file, $CAIRN_PASSWORD_FILE or $CAIRN_PASSWORD, else it is asked for on a terminal.")
}

func printCommandHelp(w io.Writer, name string, c *command) error {
	fmt.Fprintf(w, "Usage: cairn repo %s [flags] %s\n\n%s\n\nFlags:\n", name, c.usage, c.summary)
	fs := newFlagSet(name, c, &env{})
	fmt.Fprint(w, fs.FlagUsages())
	return nil
}

// openBackend opens the repository location.
func openBackend(ctx context.Context, e *env, create bool) (*backend.Backend, error) {
	loc, err := e.opts.Location()
	if err != nil {
		return nil, err
	}
	be, err := backend.Open(ctx, loc, backend.Options{Create: create})
	if err != nil {
		return nil, classify(err)
	}
	return be, nil
}

// openRepo opens the repository with the password from the options.
func openRepo(ctx context.Context, e *env) (*repo.Repository, error) {
	pw, err := e.opts.Password(ctx, e.prompt)
	if err != nil {
		return nil, err
	}
	be, err := openBackend(ctx, e, false)
	if err != nil {
		return nil, err
	}
	r, err := repo.Open(ctx, be, pw, repo.Options{})
	if err != nil {
		be.Close()
		return nil, classify(err)
	}
	return r, nil
}

// classify maps engine errors to the documented exit codes.
func classify(err error) error {
	var damaged *maint.DamagedSnapshotsError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, repo.ErrNoRepository), errors.Is(err, backend.ErrNoBucket):
		return cli.WithCode(cli.ExitNoRepository, err)
	case errors.Is(err, repo.ErrWrongPassword):
		return cli.WithCode(cli.ExitWrongPassword, fmt.Errorf("%w (check $CAIRN_PASSWORD or the password file)", err))
	case errors.As(err, &damaged):
		return cli.WithCode(cli.ExitDamaged, fmt.Errorf("%w; check them with `cairn repo check`, and remove each with `cairn repo forget <id>` before pruning", err))
	case errors.Is(err, repo.ErrCorrupt):
		return cli.WithCode(cli.ExitDamaged, err)
	}
	return err
}

// joinArgs formats a list for messages.
func joinArgs(a []string) string { return strings.Join(a, " ") }
