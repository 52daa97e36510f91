// Package cli holds what every cairn command shares: exit codes, the
// repository and password options, JSON and text output, and the progress
// bar. Engine commands live in package repocmd; later command groups (the
// in-cluster runner) reuse this package.
package cli

import (
	"errors"
	"fmt"
)

// Exit codes are part of the CLI's contract with scripts; docs/cli.md lists
// them. They never change meaning once released.
const (
	// ExitOK: the command did everything it was asked.
	ExitOK = 0
	// ExitFailure: the command failed; the message says why.
	ExitFailure = 1
	// ExitUsage: bad flags or arguments; nothing was done.
	ExitUsage = 2
	// ExitPartial: a backup finished and wrote a snapshot, but some files
	// could not be read (they are listed as warnings), or a restore
	// finished with some files not restored.
	ExitPartial = 3
	// ExitNoRepository: no repository at the given location.
	ExitNoRepository = 10
	// ExitWrongPassword: no key of the repository opens with the password.
	ExitWrongPassword = 11
	// ExitDamaged: check found damaged or missing data.
	ExitDamaged = 12
	// ExitInterrupted: stopped by SIGINT or SIGTERM.
	ExitInterrupted = 130
)

// Error carries an exit code with an error message.
type Error struct {
	Code int
	Err  error
}

// Error returns the wrapped error's message; the code is not shown.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap lets errors.Is/As see the wrapped error (e.g. repo.ErrCorrupt).
func (e *Error) Unwrap() error { return e.Err }

// WithCode wraps err so the command exits with code.
func WithCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}

// Usagef returns a usage error (exit code 2).
func Usagef(format string, args ...any) error {
	return &Error{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// CodeOf returns the exit code for err: the code it carries, or
// ExitFailure.
func CodeOf(err error) int {
	if err == nil {
		return ExitOK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ExitFailure
}
