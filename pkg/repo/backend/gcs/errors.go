package gcs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"

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
	fmt.Fprintf(&sb, "gcs: %s %s: ", e.Op, target(e.Bucket, e.Key))
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

// target formats gs://bucket/key for messages; a key with characters that
// would garble a terminal is quoted.
func target(bucket, key string) string {
	if key == "" {
		return "gs://" + bucket
	}
	if strings.IndexFunc(key, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		q := strconv.Quote(key)
		return "gs://" + bucket + "/" + q[1:len(q)-1]
	}
	return "gs://" + bucket + "/" + key
}

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// maxMessage bounds the service message kept in an Error.
const maxMessage = 300

// statusError reads a failed response into an *Error. bucketLevel marks calls
// on the bucket (listing), whose 404 can only mean a missing bucket.
func statusError(op, bucket, key string, resp *http.Response, bucketLevel bool) *Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	reason, msg := parseErrorBody(body)
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
	return printable(reason, 64), printable(redactTokens(msg), maxMessage)
}

// tokenPattern matches bearer tokens and Google access tokens, which a
// proxy or a debugging server might echo back in an error message.
var tokenPattern = regexp.MustCompile(`(?i)(bearer\s+|ya29\.)[A-Za-z0-9._~+/=-]+`)

// redactTokens removes anything tokenPattern matches from msg.
func redactTokens(msg string) string {
	return tokenPattern.ReplaceAllString(msg, "${1}REDACTED")
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
		return &Error{Op: op, Bucket: bucket, Key: key, Status: status, Message: printable(msg, maxMessage)}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("gcs: %s %s: %w", op, target(bucket, key), err)
}

// errUnimplemented is returned by the operations this driver leaves out.
var errUnimplemented = errors.New("not implemented by cairn's GCS driver")

// errorCode maps an error of this driver onto the portable codes.
func errorCode(err error) gcerrors.ErrorCode {
	var e *Error
	switch {
	case errors.As(err, &e):
		return statusCode(e.Status)
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

// statusCode maps an HTTP status onto the portable codes.
func statusCode(status int) gcerrors.ErrorCode {
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

// errInvalid marks bad arguments and malformed server answers.
var errInvalid = errors.New("invalid argument")
