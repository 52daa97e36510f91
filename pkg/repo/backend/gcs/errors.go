package gcs

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/errs"
	"net/http"
	"strings"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/objhttp"
	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/safetext"
	"gocloud.dev/gcerrors"
	"golang.org/x/oauth2"
)

// Error is a Cloud Storage request that the service answered with a status
// other than success. It carries only the operation, the object, the status
// and the service's message: never a request header or URL, so neither an
// access token nor a resumable-session address can leak through it.
type Error struct {
	// Op is what was attempted ("read", "write", "list", ...).
	Op string
	// Bucket and Key name the target; Key is empty for bucket-level calls.
	Bucket, Key string
	// Status is the HTTP status code.
	Status int
	// Reason is the service's machine-readable reason ("notFound",
	// "conditionNotMet", ...), when it sent one.
	Reason string
	// Message is the service's explanation, shortened and made printable.
	Message string
	// NoBucket is set when the bucket itself does not exist.
	NoBucket bool
}

// Error says what failed and why, in the words backend.classify looks for
// ("bucket does not exist" for a missing bucket).
func (e *Error) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "gcs: %s %s: ", e.Op, svc.Target(e.Bucket, e.Key))
	switch {
	case e.NoBucket:
		sb.WriteString("bucket does not exist")
	case e.Status == http.StatusNotFound:
		sb.WriteString("object not found")
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		sb.WriteString("permission denied")
	case e.Status == http.StatusPreconditionFailed && e.Op == "write":
		sb.WriteString("the object already exists")
	default:
		sb.WriteString(http.StatusText(e.Status))
	}
	fmt.Fprintf(&sb, " (HTTP %d", e.Status)
	if e.Reason != "" {
		sb.WriteString(" " + e.Reason)
	}
	sb.WriteString(")")
	if e.Message != "" {
		sb.WriteString(": " + e.Message)
	}
	return sb.String()
}

// HTTPStatusCode exposes the status the way the backend's retry layer reads
// it from other stores, so 429 and 5xx are retried and 401/403 are not.
func (e *Error) HTTPStatusCode() int { return e.Status }

// statusError reads a failed response into an *Error. bucketLevel marks calls
// on the bucket (listing), whose 404 can only mean a missing bucket.
func statusError(op, bucket, key string, resp *http.Response, bucketLevel bool) *Error {
	reason, msg := parseErrorBody(objhttp.ErrorBody(resp))
	e := &Error{Op: op, Bucket: bucket, Key: key, Status: resp.StatusCode, Reason: reason, Message: msg}
	if e.Status == http.StatusNotFound {
		e.NoBucket = bucketLevel || strings.Contains(strings.ToLower(msg), "bucket does not exist")
	}
	return e
}

// errorBody is the JSON API's error document.
type errorBody struct {
	Error struct {
		Message string `json:"message"`
		Errors  []struct {
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"errors"`
	} `json:"error"`
}

// parseErrorBody extracts the reason and message of an error response. The
// JSON API answers with a JSON document, media downloads sometimes with plain
// text or XML: anything that is not the JSON document is kept as text.
func parseErrorBody(body []byte) (reason, msg string) {
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil && (eb.Error.Message != "" || len(eb.Error.Errors) > 0) {
		msg = eb.Error.Message
		if len(eb.Error.Errors) > 0 {
			reason = eb.Error.Errors[0].Reason
			if msg == "" {
				msg = eb.Error.Errors[0].Message
			}
		}
	} else {
		msg = string(body)
	}
	return safetext.Line(reason, 64), safetext.Line(msg, objhttp.MaxMessage)
}

// transportError wraps an error that stopped a request before any status
// arrived. The *url.Error layer is dropped because its text holds the
// request URL (a resumable session or a page token is nobody's business);
// a token endpoint's refusal becomes a 401 *Error so that wrong credentials
// fail at once instead of being retried.
func transportError(op, bucket, key string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := http.StatusUnauthorized
		if re.Response != nil && re.Response.StatusCode >= 500 {
			status = re.Response.StatusCode
		}
		msg := "getting an access token failed"
		if re.ErrorCode != "" {
			msg += ": " + re.ErrorCode
		}
		if re.ErrorDescription != "" {
			msg += ": " + re.ErrorDescription
		}
		return &Error{Op: op, Bucket: bucket, Key: key, Status: status, Message: safetext.Line(msg, objhttp.MaxMessage)}
	}
	return svc.TransportError(op, bucket, key, err)
}

// errUnimplemented is returned by the operations this driver leaves out.
var errUnimplemented = errors.New("not implemented by cairn's GCS driver")

// svc is what the shared HTTP helpers need to word this driver's errors.
var svc = objhttp.Service{Name: "gcs", Scheme: "gs", Invalid: errInvalid, Malformed: errMalformed, Unimplemented: errUnimplemented}

// errorCode maps an error of this driver onto the portable codes.
func errorCode(err error) gcerrors.ErrorCode {
	if e, ok := errors.AsType[*Error](err); ok {
		return objhttp.StatusCode(e.Status)
	}
	return svc.Code(err)
}

// errInvalid marks bad arguments and malformed server answers.
var errInvalid = errs.ErrInvalid
