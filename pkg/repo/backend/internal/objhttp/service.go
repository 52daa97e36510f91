// Package objhttp holds what cairn's object-store drivers (s3://, gs://,
// azblob://, each REST over net/http) do the same way: naming a target in
// messages, wrapping transport errors without leaking request URLs,
// mapping HTTP statuses and the drivers' sentinel errors onto gocloud's
// portable codes, reading an error answer, and serving a ranged download
// as a driver.Reader. What differs between the stores (signing, error
// documents, key escaping rules, write protocols) stays in each driver.
package objhttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"gocloud.dev/gcerrors"
)

// Service names one store to the shared helpers, so their messages and
// errors read exactly as the driver's own: the prefix of every message,
// the URL scheme of a target, and the sentinels the driver's ErrorCode
// recognises.
type Service struct {
	// Name starts every message ("s3", "gcs", "azblob").
	Name string
	// Scheme is the URL scheme a target is shown with ("s3", "gs", "azblob").
	Scheme string
	// Invalid marks bad arguments: gcerrors.InvalidArgument, not retried.
	Invalid error
	// Malformed marks an answer the driver cannot understand:
	// gcerrors.Internal, retried (a proxy may answer right next time).
	Malformed error
	// Unimplemented marks what the driver leaves out.
	Unimplemented error
}

// ErrorLine is the message of a driver's error for a service answer:
// "name: op scheme://bucket/key: summary (HTTP status code): message", the
// code and the message left out when the service sent none.
func (s Service) ErrorLine(op, bucket, key, summary string, status int, code, message string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s: %s %s: %s (HTTP %d", s.Name, op, s.Target(bucket, key), summary, status)
	if code != "" {
		sb.WriteString(" " + code)
	}
	sb.WriteString(")")
	if message != "" {
		sb.WriteString(": " + message)
	}
	return sb.String()
}

// Target formats scheme://bucket/key for messages; a key with characters
// that would garble a terminal is quoted. An empty key names the bucket.
func (s Service) Target(bucket, key string) string {
	if key == "" {
		return s.Scheme + "://" + bucket
	}
	if strings.IndexFunc(key, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		q := strconv.Quote(key)
		key = q[1 : len(q)-1]
	}
	return s.Scheme + "://" + bucket + "/" + key
}

// Wrap says which operation on which target failed: "name: op target: err".
func (s Service) Wrap(op, bucket, key string, err error) error {
	return fmt.Errorf("%s: %s %s: %w", s.Name, op, s.Target(bucket, key), err)
}

// TransportError wraps an error that stopped a request before an answer
// arrived. The *url.Error layer is dropped: its text holds the request
// URL, and with it upload IDs, listing tokens, resumable sessions or a SAS
// token, none of which belongs in a message.
func (s Service) TransportError(op, bucket, key string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return s.Wrap(op, bucket, key, err)
}

// Code maps what every driver returns besides its service's answers onto
// the portable codes: a canceled or expired context, and the driver's
// sentinels. Anything else is gcerrors.Unknown, which the retry layer
// retries.
func (s Service) Code(err error) gcerrors.ErrorCode {
	switch {
	case errors.Is(err, context.Canceled):
		return gcerrors.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return gcerrors.DeadlineExceeded
	case s.Unimplemented != nil && errors.Is(err, s.Unimplemented):
		return gcerrors.Unimplemented
	case s.Invalid != nil && errors.Is(err, s.Invalid):
		return gcerrors.InvalidArgument
	case s.Malformed != nil && errors.Is(err, s.Malformed):
		return gcerrors.Internal
	}
	return gcerrors.Unknown
}

// StatusCode maps an HTTP status onto the portable codes the backend's
// classify and retry layer read: 429, 5xx and timeouts are transient, a
// lost write-once create (412) is FailedPrecondition, other 4xx are the
// caller's problem.
func StatusCode(status int) gcerrors.ErrorCode {
	switch {
	case status == http.StatusNotFound:
		return gcerrors.NotFound
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return gcerrors.PermissionDenied
	case status == http.StatusPreconditionFailed:
		return gcerrors.FailedPrecondition
	case status == http.StatusTooManyRequests:
		return gcerrors.ResourceExhausted
	case status == http.StatusNotImplemented:
		return gcerrors.Unimplemented
	case status == http.StatusGatewayTimeout || status == http.StatusRequestTimeout:
		return gcerrors.DeadlineExceeded
	case status >= 500:
		return gcerrors.Internal
	case status >= 400:
		return gcerrors.InvalidArgument
	}
	return gcerrors.Unknown
}

// MaxMessage bounds the service message a driver keeps in its errors.
const MaxMessage = 300

// MaxErrorBody bounds how much of an error answer a driver reads.
const MaxErrorBody = 64 << 10

// ErrorBody reads at most 64 KiB of a failed answer's body, enough for any
// error document and bounded against a hostile server.
func ErrorBody(resp *http.Response) []byte {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))
	return body
}

// DrainClose reads a little of what is left of a body so the connection
// can be reused, and closes it.
func DrainClose(rc io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(rc, 64<<10))
	rc.Close()
}

// NoAs is the asFunc a driver hands to Before* callbacks: the drivers
// expose no service-specific types.
func NoAs(any) bool { return false }
