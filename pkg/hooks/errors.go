package hooks

import (
	"fmt"
	"time"
)

// ConfigError is a hook that cannot run as written: a missing required
// param, an action its executor cannot perform, an unsupported executor.
// Retrying does not help, so Run gives up on it at once.
type ConfigError struct{ Msg string }

func (e *ConfigError) Error() string { return e.Msg }

func configErrorf(format string, a ...any) error {
	return &ConfigError{Msg: fmt.Sprintf(format, a...)}
}

// NoPodError says no pod can run the hook: none matches the selector, or
// none of those is running with the container. A retry may find one.
type NoPodError struct {
	Namespace, Selector string
	// Why is what was wrong with the pods that matched, if any did.
	Why string
}

func (e *NoPodError) Error() string {
	msg := fmt.Sprintf("no running pod in namespace %s matches the hook's selector %q", e.Namespace, e.Selector)
	if e.Why != "" {
		msg += " (" + e.Why + ")"
	}
	return msg
}

// ExitError is a command that ran in a pod and exited with a non-zero code.
// Output is the tail of what it wrote (stdout and stderr interleaved),
// already cut to MaxErrorOutput bytes.
type ExitError struct {
	Pod, Container string
	Code           int
	Output         string
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("command in pod %s (container %s) exited with code %d", e.Pod, e.Container, e.Code)
	if e.Output != "" {
		msg += ": " + e.Output
	}
	return msg
}

// HTTPError is a request whose answer was not a 2xx or 3xx status. URL has
// no query string (it may carry a token); Body is the start of the answer.
type HTTPError struct {
	URL    string
	Status int
	Body   string
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s answered HTTP %d", e.URL, e.Status)
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// TimeoutError is a hook run that did not finish within its timeout; Err
// is what the run reported when it was cut off.
type TimeoutError struct {
	After time.Duration
	Err   error
}

func (e *TimeoutError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("did not finish within its timeout of %s", e.After)
	}
	return fmt.Sprintf("did not finish within its timeout of %s: %v", e.After, e.Err)
}

func (e *TimeoutError) Unwrap() error { return e.Err }
