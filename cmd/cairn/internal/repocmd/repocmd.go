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
	"github.com/cairnbackup/cairn/pkg/repo/crypto"
	"github.com/cairnbackup/cairn/pkg/repo/maint"
	"github.com/cairnbackup/cairn/pkg/restorer"
)

// KeyKDF is the password hashing of the key files init, key add and key
// passwd write: crypto.DefaultKDF. Only cairn's own tests, which run
// hundreds of commands, lower it; nothing a user sets reaches it.
var KeyKDF = crypto.DefaultKDF

// AfterOpen, when set, runs once a repository is open (its password
// hashed, the hash's memory given back): the peak-memory report hooks in.
var AfterOpen func()

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
	return classify(c.run(ctx, e, fs.Args()))
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
	r, err := repo.Open(ctx, be, pw, engineOptions(e))
	if err != nil {
		be.Close()
		return nil, classify(err)
	}
	if AfterOpen != nil {
		AfterOpen()
	}
	return r, nil
}

// engineOptions are the repository options of a command: the key-file
// cost and, unless turned off, this machine's key cache.
func engineOptions(e *env) repo.Options {
	o := repo.Options{KDF: KeyKDF}
	if kc := e.opts.KeyCache(); kc != nil {
		o.KeyCache = kc
	}
	return o
}

// classify maps engine errors to the documented exit codes and adds what
// a person can do about them. The libraries return typed errors with no
// advice (the operator turns the same errors into status conditions); the
// advice for a command-line user lives only here. An error classified
// already is returned as it is.
func classify(err error) error {
	var done *cli.Error
	if err == nil || errors.As(err, &done) {
		return err
	}
	code := cli.ExitFailure
	for _, a := range advice {
		if a.match(err) {
			if a.code != 0 {
				code = a.code
			}
			err = fmt.Errorf("%w; %s", err, a.text)
			break
		}
	}
	if code == cli.ExitFailure && errors.Is(err, repo.ErrCorrupt) {
		code = cli.ExitDamaged
	}
	return cli.WithCode(code, err)
}

// advice is what classify adds, in order: the first match wins.
var advice = []struct {
	match func(error) bool
	code  int
	text  string
}{
	{is(repo.ErrNoRepository, backend.ErrNoBucket), cli.ExitNoRepository, "check the location, or run `cairn repo init` to create a repository there"},
	{is(repo.ErrWrongPassword), cli.ExitWrongPassword, "check $CAIRN_PASSWORD or the password file"},
	{isDamagedSnapshots, cli.ExitDamaged, "check them with `cairn repo check`, and remove each with `cairn repo forget <id>` before pruning"},
	{is(maint.ErrIndexUnreadable), cli.ExitDamaged, "run `cairn repo check` and repair the index before pruning"},
	{is(repo.ErrCorrupt), cli.ExitDamaged, "run `cairn repo check --read-data` to see what is damaged"},
	{is(restorer.ErrMissingChunk), cli.ExitDamaged, "run `cairn repo check` to see what is missing"},
	{is(repo.ErrNoSnapshot), 0, "see `cairn repo snapshots`"},
	{is(repo.ErrAmbiguousID), 0, "give more digits"},
	{is(repo.ErrNoKey), 0, "see `cairn repo key list`"},
	{is(repo.ErrKeyInUse), 0, "open the repository with another password first"},
	{is(repo.ErrConcurrentPrune), 0, "run the backup again"},
	{is(repo.ErrLocked), 0, "wait for that run to finish (a lock whose holder died expires by itself)"},
	{is(repo.ErrLockLost), 0, "the repository is consistent; run prune again"},
	{is(repo.ErrUnsupportedVersion), 0, "use a cairn release that reads this version"},
	{is(maint.ErrGraceTooShort), cli.ExitUsage, fmt.Sprintf("give a longer --grace (default %s)", maint.DefaultGrace)},
	{isNoMatch, 0, "list the snapshot's paths with `cairn repo ls SNAPSHOT`"},
}

func is(targets ...error) func(error) bool {
	return func(err error) bool {
		for _, t := range targets {
			if errors.Is(err, t) {
				return true
			}
		}
		return false
	}
}

func isDamagedSnapshots(err error) bool {
	var d *maint.DamagedSnapshotsError
	return errors.As(err, &d)
}

func isNoMatch(err error) bool {
	var n *restorer.NoMatchError
	return errors.As(err, &n)
}

// joinArgs formats a list for messages.
func joinArgs(a []string) string { return strings.Join(a, " ") }
