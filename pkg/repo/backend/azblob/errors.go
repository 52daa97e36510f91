package azblob

import (
	"bytes"
	"encoding/xml"
	"errors"
	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/errs"
	"io/fs"
	"net/http"
	"strings"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/objhttp"
	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/safetext"
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
	return svc.ErrorLine(e.Op, e.Container, e.Key, e.summary(), e.Status, e.Code, e.Message)
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

// Is lets callers test the outcome with the standard sentinels:
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

// statusError reads a failed response into an *Error. The code comes from
// the x-ms-error-code header (HEAD answers have no body) or the XML body.
func statusError(op, container, key string, resp *http.Response) *Error {
	code, msg := parseErrorBody(objhttp.ErrorBody(resp))
	if h := resp.Header.Get("x-ms-error-code"); h != "" {
		code = safetext.Line(h, 64)
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
	return safetext.Line(code, 64), safetext.Line(msg, objhttp.MaxMessage)
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
	return svc.TransportError(op, container, key, err)
}

// errUnimplemented is returned by the operations this driver leaves out.
var errUnimplemented = errors.New("not implemented by cairn's Azure Blob driver")

// errInvalid marks bad arguments and configuration.
var errInvalid = errs.ErrInvalid

// errMalformed marks a server answer this driver cannot understand. It maps
// to gcerrors.Internal: a proxy or a broken emulator may answer correctly on
// the next try.
var errMalformed = errors.New("malformed answer from Azure Blob Storage")

// svc is what the shared HTTP helpers need to word this driver's errors.
var svc = objhttp.Service{Name: "azblob", Scheme: "azblob", Invalid: errInvalid, Malformed: errMalformed, Unimplemented: errUnimplemented}

// errorCode maps an error of this driver onto the portable codes.
func errorCode(err error) gcerrors.ErrorCode {
	if e, ok := errors.AsType[*Error](err); ok {
		return serviceCode(e.Status, e.Code)
	}
	return svc.Code(err)
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
	return objhttp.StatusCode(status)
}
