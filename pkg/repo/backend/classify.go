package backend

import (
	"errors"
	"os"
	"strings"

	"gocloud.dev/gcerrors"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/errs"
	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/safetext"
)

// maxMessage bounds the store's part of an error message: SDK errors
// carry whole response bodies, and these messages end up in status
// conditions.
const maxMessage = 1000

// storeError is a store's (or SDK's) error with the sentinel it falls
// under. Its message is the sentinel's, then the original on one line
// with anything shaped like a credential or signature redacted (an Azure
// 403 echoes the string it signed; a proxy may echo headers); errors.Is
// finds the sentinel and errors.As the SDK's own error types.
type storeError struct {
	sentinel error // nil: none applies
	err      error
}

func (e *storeError) Error() string {
	msg := safetext.Line(e.err.Error(), maxMessage)
	if a := answerOf(e.err); a.wrongRegion() {
		msg += " (the bucket is in region " + safetext.Line(a.region, 40) + ")"
	}
	if e.sentinel == nil {
		return msg
	}
	return e.sentinel.Error() + ": " + msg
}

func (e *storeError) Unwrap() []error {
	if e.sentinel == nil {
		return []error{e.err}
	}
	return []error{e.sentinel, e.err}
}

// classify maps driver and SDK errors onto the package's sentinel errors,
// keeping the store's status and error code in the message.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var p *permanentError
	if errors.As(err, &p) {
		err = p.err
	}
	if errors.Is(err, ErrInvalid) {
		return err
	}
	return &storeError{sentinel: sentinel(err), err: err}
}

// sentinel picks the sentinel error err falls under, or nil.
func sentinel(err error) error {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return ErrNotFound
	case errors.Is(err, os.ErrPermission), errors.Is(err, errs.ErrNoCredentials):
		return ErrPermission
	}
	a := answerOf(err)
	switch {
	case a.wrongRegion():
		return ErrInvalid
	case a.refused(), noCredentials(err) && !a.transient():
		return ErrPermission
	case a.alreadyExists():
		return ErrExists
	}
	switch gcerrors.Code(err) {
	case gcerrors.PermissionDenied:
		return ErrPermission
	case gcerrors.FailedPrecondition, gcerrors.AlreadyExists:
		return ErrExists
	case gcerrors.NotFound:
		return notFound(err)
	}
	if a.status == 404 {
		return notFound(err)
	}
	return nil
}

// notFound tells a missing bucket (container) from a missing object.
func notFound(err error) error {
	msg := err.Error()
	if strings.Contains(msg, "NoSuchBucket") || strings.Contains(msg, "ContainerNotFound") ||
		strings.Contains(msg, "bucket does not exist") || strings.Contains(msg, "bucket doesn't exist") {
		return ErrNoBucket
	}
	return ErrNotFound
}
