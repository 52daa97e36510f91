package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// EnvNewPassword holds the new password for `key add` and `key passwd`.
const EnvNewPassword = "CAIRN_NEW_PASSWORD"

// Password returns the repository password: from --password-file, then
// $CAIRN_PASSWORD_FILE, then $CAIRN_PASSWORD, else asked on the terminal
// (p non-nil) without echo. A trailing newline in a file is dropped. The
// password is never printed or logged.
func (o *RepoOptions) Password(ctx context.Context, p *Prompter) (string, error) {
	return o.password(p, "", func() (string, error) { return p.Ask(ctx, "Repository password: ") })
}

// InitPassword returns the password for a new repository: like Password,
// but asked twice on a terminal, since a typo would lock the data away.
func (o *RepoOptions) InitPassword(ctx context.Context, p *Prompter) (string, error) {
	return o.password(p, " for the new repository", func() (string, error) {
		return p.AskTwice(ctx, "Password for the new repository: ", "Repeat the password: ")
	})
}

// password returns the given password, else asks (p non-nil), else says
// how to give one; what completes "no password given".
func (o *RepoOptions) password(p *Prompter, what string, ask func() (string, error)) (string, error) {
	pw, ok, err := o.givenPassword()
	if ok || err != nil {
		return pw, err
	}
	if p == nil {
		return "", Usagef("no password given%s: set %s, or use --password-file FILE (or %s), or run on a terminal to be asked", what, EnvPassword, EnvPasswordFile)
	}
	return ask()
}

// givenPassword looks in the flag, the file variable and the variable, in
// that order; ok is false when none is set.
func (o *RepoOptions) givenPassword() (pw string, ok bool, err error) {
	if o.PasswordFile != "" {
		pw, err = passwordFromFile(o.PasswordFile, "--password-file")
		return pw, true, err
	}
	if f := os.Getenv(EnvPasswordFile); f != "" {
		pw, err = passwordFromFile(f, "$"+EnvPasswordFile)
		return pw, true, err
	}
	if pw, ok := os.LookupEnv(EnvPassword); ok {
		if pw == "" {
			return "", true, Usagef("$%s is set but empty; an empty password is not allowed", EnvPassword)
		}
		return pw, true, nil
	}
	return "", false, nil
}

// NewPasswordGiven returns the new password for `key add`/`passwd` from the
// file flag value or $CAIRN_NEW_PASSWORD; ok is false when neither is set,
// and the caller asks on the terminal (Prompter.AskTwice) or gives up.
func NewPasswordGiven(file string) (pw string, ok bool, err error) {
	if file != "" {
		pw, err = passwordFromFile(file, "--new-password-file")
		return pw, true, err
	}
	if pw := os.Getenv(EnvNewPassword); pw != "" {
		return pw, true, nil
	}
	return "", false, nil
}

func passwordFromFile(path, from string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", Usagef("cannot read the password file %s (from %s): %v", path, from, err)
	}
	p := strings.TrimRight(string(b), "\r\n")
	if p == "" {
		return "", Usagef("the password file %s (from %s) is empty", path, from)
	}
	return p, nil
}

// Prompter asks for passwords on the terminal that stdin is, with echo
// off, writing the questions to out (stderr, so stdout stays parseable).
type Prompter struct {
	in  *os.File
	out io.Writer
}

// NewPrompter returns a Prompter if in is a terminal, else nil: a script
// with redirected stdin must get a clear error, not a hang.
func NewPrompter(in io.Reader, out io.Writer) *Prompter {
	f, ok := in.(*os.File)
	if !ok || !IsTerminal(f) {
		return nil
	}
	return &Prompter{in: f, out: out}
}

// Ask turns echo off, prints question and reads one line. Echo goes off
// before the question appears, so even an answer typed (or pasted) the
// instant the question shows is never displayed. Interrupting (ctx ends,
// as on Ctrl-C) restores the terminal and returns ctx's error.
func (p *Prompter) Ask(ctx context.Context, question string) (string, error) {
	fd := int(p.in.Fd())
	state, err := term.GetState(fd)
	if err != nil {
		return "", fmt.Errorf("cannot ask for the password on the terminal: %w", err)
	}
	if err := echoOff(fd); err != nil {
		return "", fmt.Errorf("cannot turn off echo on the terminal: %w", err)
	}
	defer term.Restore(fd, state)
	fmt.Fprint(p.out, question)
	type answer struct {
		b   []byte
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		b, err := readLine(p.in)
		ch <- answer{b, err}
	}()
	var a answer
	select {
	case a = <-ch:
	case <-ctx.Done():
		// The reading goroutine stays blocked; the process is exiting.
		fmt.Fprintln(p.out)
		return "", ctx.Err()
	}
	fmt.Fprintln(p.out) // the user's Enter was not echoed either
	if errors.Is(a.err, io.EOF) || (a.err == nil && len(a.b) == 0) {
		return "", Usagef("no password entered; an empty password is not allowed")
	}
	if a.err != nil {
		return "", fmt.Errorf("reading the password from the terminal: %w", a.err)
	}
	return string(a.b), nil
}

// echoOff clears ECHO and keeps line editing and signals (so Ctrl-C still
// interrupts), like a shell's read -s.
func echoOff(fd int) error {
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	tio.Lflag &^= unix.ECHO
	tio.Lflag |= unix.ICANON | unix.ISIG
	tio.Iflag |= unix.ICRNL
	return unix.IoctlSetTermios(fd, unix.TCSETS, tio)
}

// readLine reads up to a newline, one byte at a time so nothing after the
// line is consumed. A trailing carriage return is dropped.
func readLine(r io.Reader) ([]byte, error) {
	var line []byte
	var b [1]byte
	for {
		n, err := r.Read(b[:])
		if n == 1 {
			if b[0] == '\n' {
				return bytes.TrimSuffix(line, []byte{'\r'}), nil
			}
			line = append(line, b[0])
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) && len(line) > 0 {
				return line, nil
			}
			return line, err
		}
	}
}

// AskTwice asks for a new password and its confirmation, and refuses a
// mismatch, so a typo cannot set a password nobody knows.
func (p *Prompter) AskTwice(ctx context.Context, question, again string) (string, error) {
	first, err := p.Ask(ctx, question)
	if err != nil {
		return "", err
	}
	second, err := p.Ask(ctx, again)
	if err != nil {
		return "", err
	}
	if first != second {
		return "", Usagef("the passwords do not match; nothing was changed, run the command again")
	}
	return first, nil
}
