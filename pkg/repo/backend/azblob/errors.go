package azblob

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"gocloud.dev/gcerrors"
)

// Error is a Blob service request that the service (or a token endpoint)
// answered with a status other than success. It carries only the
// operation, the target, the status and the service's code and message:
// never a request header or URL, so neither an account key's signature, a
// SAS token nor a bearer token can leak through it.
type Error struct {
	// Op is what was attempted ("read", "write", "list", ...).
	Op string
	// Container and Key name the target; Key is empty for container calls.
	Container, Key string
	// Status is the HTTP status code.
	Status int
	// Code is the service's error code ("BlobNotFound", "ServerBusy", ...).
	Code string
	// Message is the service's explanation, shortened and made printable.
	Message string
}

// Error says what failed and why, naming the service's code, which
// backend.classify looks for ("ContainerNotFound" for a missing container).
func (e *Error) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "azblob: %s %s: %s (HTTP %d", e.Op, target(e.Container, e.Key), e.summary(), e.Status)
	if e.Code != "" {
		sb.WriteString(" " + e.Code)
	}
	sb.WriteString(")")
	if e.Message != "" {
		sb.WriteString(": " + e.Message)
	}
	return sb.String()
}

// summary says in a few words what the status and code mean for the user.
func (e *Error) summary() string {
	switch e.Code {
	case "ContainerNotFound":
		return "the container (bucket) does not exist"
	case "BlobNotFound":
		return "object not found"
	case "BlobAlreadyExists":
		return "the object already exists"
	case "ConditionNotMet":
		if e.Op == "write" {
			return "the object already exists"
		}
	case "AuthenticationFailed":
		return "permission denied: the request's signature or token was not accepted (check the account key, SAS token or identity, and the machine's clock)"
	case "AuthorizationPermissionMismatch":
		return "permission denied: the identity has no data-plane role for this operation (grant it \"Storage Blob Data Contributor\" on the account or container)"
	case "AuthorizationFailure":
		return "permission denied: the request is not authorized (a wrong account key or SAS token, missing SAS permissions, or the account's network rules)"
	case "ServerBusy", "OperationTimedOut", "InternalError":
		return "the service is busy or failed; the request may be retried"
	}
	switch {
	case e.Status == http.StatusNotFound:
		return "not found"
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return "permission denied"
	}
	return http.StatusText(e.Status)
}

// HTTPStatusCode exposes the status the way the backend's retry layer reads
// it from other stores, so 429 and 5xx are retried and 401/403 are not.
func (e *Error) HTTPStatusCode() int { return e.Status }

// Is lets callers that bypass the portable blob type (the PutIfAbsent
// escape hatch) test the outcome with the standard sentinels:
// fs.ErrExist for a write-once create that lost, fs.ErrNotExist for a
// missing object (not a missing container) and fs.ErrPermission.
func (e *Error) Is(target error) bool {
	switch target {
	case fs.ErrExist:
		return errorCode(e) == gcerrors.FailedPrecondition
	case fs.ErrNotExist:
		return e.Status == http.StatusNotFound && e.Code != "ContainerNotFound"
	case fs.ErrPermission:
		return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
	}
	return false
}

// target formats azblob://container/key for messages; a key with
// characters that would garble a terminal is quoted.
func target(container, key string) string {
	if key == "" {
		return "azblob://" + container
	}
	if strings.IndexFunc(key, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		q := strconv.Quote(key)
		return "azblob://" + container + "/" + q[1:len(q)-1]
	}
	return "azblob://" + container + "/" + key
}

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// maxMessage bounds the service message kept in an Error.
const maxMessage = 300

// statusError reads a failed response into an *Error. The code comes from
// the x-ms-error-code header (HEAD answers have no body) or the XML body.
func statusError(op, container, key string, resp *http.Response) *Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	code, msg := parseErrorBody(body)
	if h := resp.Header.Get("x-ms-error-code"); h != "" {
		code = printable(h, 64)
	}
	return &Error{Op: op, Container: container, Key: key, Status: resp.StatusCode, Code: code, Message: msg}
}

// errorXML is the Blob service's error document.
type errorXML struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
	// AuthenticationErrorDetail explains a rejected signature; it never
	// holds the key, only which string the service signed.
	Detail string `xml:"AuthenticationErrorDetail"`
}

// parseErrorBody extracts the code and message of an error response. A
// body that is not the service's XML (a proxy's HTML page, say) is kept as
// text.
func parseErrorBody(body []byte) (code, msg string) {
	var e errorXML
	if err := xml.NewDecoder(bytes.NewReader(body)).Decode(&e); err == nil && (e.Code != "" || e.Message != "") {
		code, msg = e.Code, e.Message
		// The first line is the explanation; the rest is a request ID and a time.
		msg, _, _ = strings.Cut(msg, "\n")
	} else {
		msg = string(body)
	}
	return printable(code, 64), printable(redactSecrets(msg), maxMessage)
}

// secretPattern matches bearer tokens, JWTs and SAS signatures, which a
// proxy or a debugging server might echo back in an error message.
var secretPattern = regexp.MustCompile(`(?i)(bearer\s+|eyJ|sig=)[A-Za-z0-9._~+/%=-]+`)

// redactSecrets removes anything secretPattern matches from msg.
func redactSecrets(msg string) string {
	return secretPattern.ReplaceAllString(msg, "${1}REDACTED")
}

// printable collapses whitespace, drops control and invalid characters and
// cuts s to at most n bytes, so a hostile or broken server cannot garble
// the terminal or the logs.
func printable(s string, n int) string {
	var sb strings.Builder
	space := false
	for _, r := range s {
		switch {
		case r == unicode.ReplacementChar || (!unicode.IsPrint(r) && !unicode.IsSpace(r)):
			continue
		case unicode.IsSpace(r):
			space = sb.Len() > 0
			continue
		}
		if space {
			if sb.Len()+1 > n {
				break
			}
			sb.WriteByte(' ')
			space = false
		}
		if sb.Len()+len(string(r)) > n {
			break
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// transportError wraps an error that stopped a request before any status
// arrived. The *url.Error layer is dropped because its text holds the
// request URL, and with it a SAS token; an *Error from a token source
// (wrong credentials) is passed through so that it is not retried.
func transportError(op, container, key string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return &Error{Op: op, Container: container, Key: key, Status: e.Status, Code: e.Code, Message: e.Message}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("azblob: %s %s: %w", op, target(container, key), err)
}

// errUnimplemented is returned by the operations this driver leaves out.
var errUnimplemented = errors.New("not implemented by cairn's Azure Blob driver")

// errInvalid marks bad arguments and configuration.
var errInvalid = errors.New("invalid argument")

// errMalformed marks a server answer this driver cannot understand. It maps
// to gcerrors.Internal: a proxy or a broken emulator may answer correctly on
// the next try.
var errMalformed = errors.New("malformed answer from Azure Blob Storage")

// errorCode maps an error of this driver onto the portable codes.
func errorCode(err error) gcerrors.ErrorCode {
	var e *Error
	switch {
	case errors.As(err, &e):
		return serviceCode(e.Status, e.Code)
	case errors.Is(err, context.Canceled):
		return gcerrors.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return gcerrors.DeadlineExceeded
	case errors.Is(err, errUnimplemented):
		return gcerrors.Unimplemented
	case errors.Is(err, errInvalid):
		return gcerrors.InvalidArgument
	case errors.Is(err, errMalformed):
		return gcerrors.Internal
	}
	return gcerrors.Unknown
}

// serviceCode maps an HTTP status and the service's error code onto the
// portable codes: transient failures become codes the retry layer retries
// (Internal, ResourceExhausted, DeadlineExceeded), a lost write-once create
// becomes FailedPrecondition.
func serviceCode(status int, code string) gcerrors.ErrorCode {
	switch code {
	case "BlobAlreadyExists", "ConditionNotMet", "TargetConditionNotMet":
		return gcerrors.FailedPrecondition
	case "ServerBusy", "InternalError":
		return gcerrors.Internal
	case "OperationTimedOut":
		return gcerrors.DeadlineExceeded
	}
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
