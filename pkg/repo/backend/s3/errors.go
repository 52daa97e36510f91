package s3

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/cairnbackup/cairn/pkg/repo/backend/s3/awscred"
	"github.com/cairnbackup/cairn/pkg/repo/backend/s3/internal/safetext"
	"gocloud.dev/gcerrors"
)

// Error is an S3 request the service answered with something other than
// success. It holds the operation, the target, the status and the
// service's code and message, never a request header, a signature or a
// credential.
type Error struct {
	// Op is what was attempted ("read", "write", "list", ...).
	Op string
	// Bucket and Key name the target; Key is empty for bucket-level calls.
	Bucket, Key string
	// Status is the HTTP status code.
	Status int
	// Code is S3's error code ("NoSuchKey", "SlowDown", ...); for answers
	// without a body (HEAD) it is derived from the status.
	Code string
	// Message is the service's explanation, made printable and short.
	Message string
	// Region is the bucket's real region when the service named it (a
	// redirect, or a request signed for the wrong region).
	Region string
}

// Error says what failed and what to do about it. A missing bucket reads
// "bucket does not exist", the words backend.classify looks for.
func (e *Error) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "s3: %s %s: %s (HTTP %d", e.Op, target(e.Bucket, e.Key), e.explain(), e.Status)
	if e.Code != "" {
		sb.WriteString(" " + e.Code)
	}
	sb.WriteString(")")
	if e.Message != "" {
		sb.WriteString(": " + e.Message)
	}
	return sb.String()
}

// explain turns the code into advice.
func (e *Error) explain() string {
	switch {
	case e.Region != "" && (e.Status/100 == 3 || e.Code == "AuthorizationHeaderMalformed" || e.Code == "PermanentRedirect" ||
		e.Code == "IllegalLocationConstraintException"):
		return "the bucket is in region " + e.Region + ": add ?region=" + e.Region + " to the repository URL"
	case e.Status/100 == 3:
		return "the bucket is in another region: set ?region= in the repository URL to the bucket's region"
	}
	switch e.Code {
	case "NoSuchBucket":
		return "bucket does not exist"
	case "NoSuchKey":
		return "object not found"
	case "NoSuchUpload":
		return "the multipart upload no longer exists"
	case "AccessDenied", "AllAccessDisabled":
		return "access denied: the credentials may not do this (check the IAM policy and the bucket policy)"
	case "InvalidAccessKeyId":
		return "permission denied: the access key ID is unknown to the service (check AWS_ACCESS_KEY_ID or the profile)"
	case "SignatureDoesNotMatch":
		return "permission denied: the signature does not match (the secret access key is wrong)"
	case "ExpiredToken", "TokenRefreshRequired":
		return "permission denied: the session token has expired"
	case "InvalidToken":
		return "permission denied: the session token is invalid"
	case "RequestTimeTooSkewed":
		return "this machine's clock is more than 15 minutes off the service's: fix the clock (enable NTP)"
	case "PreconditionFailed":
		return "the object already exists"
	case "ConditionalRequestConflict", "OperationAborted":
		return "a concurrent write to the same key is in progress; try again"
	case "SlowDown":
		return "the service asks to slow down"
	case "RequestTimeout":
		return "the service timed out waiting for the request"
	case "InvalidRange":
		return "the range is outside the object"
	}
	if e.Status == http.StatusNotFound {
		return "not found"
	}
	return http.StatusText(e.Status)
}

// target formats s3://bucket/key for messages, quoting a key with
// characters that would garble a terminal.
func target(bucket, key string) string {
	if key == "" {
		return "s3://" + bucket
	}
	if strings.IndexFunc(key, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		q := strconv.Quote(key)
		return "s3://" + bucket + "/" + q[1:len(q)-1]
	}
	return "s3://" + bucket + "/" + key
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// maxMessage bounds the service message kept in an Error.
const maxMessage = 300

// errorBody is S3's error document.
type errorBody struct {
	Code     string `xml:"Code"`
	Message  string `xml:"Message"`
	Region   string `xml:"Region"`
	Endpoint string `xml:"Endpoint"`
}

// ParseErrorBody extracts code, message and region from an S3 error
// document (region from <Region> or, for redirects, the region part of
// <Endpoint>). Anything that is not an error document yields empty fields;
// every field is printable and bounded.
func ParseErrorBody(body []byte) (code, msg, region string) {
	var eb errorBody
	if err := xml.Unmarshal(body, &eb); err != nil {
		return "", "", ""
	}
	region = eb.Region
	if region == "" {
		region = regionFromHost(eb.Endpoint)
	}
	return safetext.Line(eb.Code, 64), safetext.Line(eb.Message, maxMessage), cleanRegion(region)
}

// regionFromHost finds the region in an S3 host name such as
// bucket.s3.eu-west-1.amazonaws.com or s3-eu-west-1.amazonaws.com.
func regionFromHost(host string) string {
	labels := strings.Split(host, ".")
	for i, l := range labels {
		switch {
		case l == "s3" && i+1 < len(labels) && labels[i+1] != "amazonaws":
			return labels[i+1]
		case strings.HasPrefix(l, "s3-") && i+1 < len(labels):
			return strings.TrimPrefix(l, "s3-")
		}
	}
	return ""
}

// cleanRegion keeps a region only if it looks like one (letters, digits,
// dashes), so a hostile answer cannot put anything else into advice.
func cleanRegion(r string) string {
	if len(r) == 0 || len(r) > 32 {
		return ""
	}
	for _, c := range r {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return ""
		}
	}
	return r
}

// statusError reads a failed answer into an *Error.
func statusError(op, bucket, key string, resp *http.Response) *Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	code, msg, region := ParseErrorBody(body)
	if code == "" {
		code = codeForStatus(resp.StatusCode, key != "")
	}
	if region == "" {
		region = cleanRegion(resp.Header.Get("X-Amz-Bucket-Region"))
	}
	return &Error{Op: op, Bucket: bucket, Key: key, Status: resp.StatusCode, Code: code, Message: msg, Region: region}
}

// codeForStatus names the usual code of a body-less answer (HEAD).
func codeForStatus(status int, object bool) string {
	switch status {
	case http.StatusNotFound:
		if object {
			return "NoSuchKey"
		}
		return "NoSuchBucket"
	case http.StatusForbidden:
		return "AccessDenied"
	case http.StatusPreconditionFailed:
		return "PreconditionFailed"
	case http.StatusServiceUnavailable:
		return "SlowDown"
	case http.StatusMovedPermanently:
		return "PermanentRedirect"
	}
	return ""
}

// transportError wraps an error that stopped a request before an answer
// arrived. The *url.Error layer is dropped (its text holds the URL, with
// upload IDs and listing tokens); credential failures keep their *Error.
func transportError(op, bucket, key string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("s3: %s %s: %w", op, target(bucket, key), err)
}

// errInvalid marks bad arguments (to the driver, or in the URL).
var errInvalid = errors.New("invalid argument")

// errMalformed marks an answer this driver cannot understand; it maps to
// gcerrors.Internal, which is retried: a proxy may answer right next time.
var errMalformed = errors.New("malformed answer from S3")

// errUnimplemented is returned by the operations this driver leaves out.
var errUnimplemented = errors.New("not implemented by cairn's S3 driver")

// errorCode maps an error of this driver onto gocloud's portable codes,
// which backend.classify and the retry layer read: NotFound, permission
// problems, an existing object (FailedPrecondition) and the transient ones
// (ResourceExhausted, Internal, DeadlineExceeded, Unknown).
func errorCode(err error) gcerrors.ErrorCode {
	var e *Error
	var ce *awscred.Error
	switch {
	case errors.As(err, &e):
		return codeFor(e)
	case errors.Is(err, context.Canceled):
		return gcerrors.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return gcerrors.DeadlineExceeded
	case errors.As(err, &ce):
		if ce.Transient {
			return gcerrors.Unknown
		}
		return gcerrors.PermissionDenied
	case errors.Is(err, errUnimplemented):
		return gcerrors.Unimplemented
	case errors.Is(err, errInvalid):
		return gcerrors.InvalidArgument
	case errors.Is(err, errMalformed):
		return gcerrors.Internal
	}
	return gcerrors.Unknown
}

// codeFor maps one S3 answer.
func codeFor(e *Error) gcerrors.ErrorCode {
	switch e.Code {
	case "NoSuchKey", "NoSuchBucket", "NoSuchUpload":
		return gcerrors.NotFound
	case "AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch",
		"ExpiredToken", "TokenRefreshRequired", "InvalidToken":
		return gcerrors.PermissionDenied
	case "RequestTimeTooSkewed", "AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraintException":
		// Not retried, not a credentials problem: the message says what to fix.
		return gcerrors.InvalidArgument
	case "PreconditionFailed":
		return gcerrors.FailedPrecondition
	case "ConditionalRequestConflict", "OperationAborted", "InternalError":
		return gcerrors.Internal
	case "SlowDown", "ServiceUnavailable", "Throttling":
		return gcerrors.ResourceExhausted
	case "RequestTimeout":
		return gcerrors.DeadlineExceeded
	case "InvalidRange":
		return gcerrors.InvalidArgument
	}
	switch s := e.Status; {
	case s/100 == 3:
		return gcerrors.InvalidArgument
	case s == http.StatusNotFound:
		return gcerrors.NotFound
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return gcerrors.PermissionDenied
	case s == http.StatusPreconditionFailed:
		return gcerrors.FailedPrecondition
	case s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable:
		return gcerrors.ResourceExhausted
	case s == http.StatusNotImplemented:
		return gcerrors.Unimplemented
	case s == http.StatusRequestTimeout || s == http.StatusGatewayTimeout:
		return gcerrors.DeadlineExceeded
	case s >= 500:
		return gcerrors.Internal
	case s == http.StatusConflict:
		return gcerrors.Internal
	}
	return gcerrors.InvalidArgument
}
