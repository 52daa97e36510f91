package s3

import (
	"encoding/xml"
	"errors"
	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/errs"
	"net/http"
	"strings"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/objhttp"
	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/safetext"
	"github.com/cairnbackup/cairn/pkg/repo/backend/s3/awscred"
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
	return svc.ErrorLine(e.Op, e.Bucket, e.Key, e.explain(), e.Status, e.Code, e.Message)
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
	return safetext.Line(eb.Code, 64), safetext.Line(eb.Message, objhttp.MaxMessage), cleanRegion(region)
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
	code, msg, region := ParseErrorBody(objhttp.ErrorBody(resp))
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
	return svc.TransportError(op, bucket, key, err)
}

// errInvalid marks bad arguments (to the driver, or in the URL).
var errInvalid = errs.ErrInvalid

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
	if e, ok := errors.AsType[*Error](err); ok {
		return codeFor(e)
	}
	if code := svc.Code(err); code != gcerrors.Unknown {
		return code
	}
	if ce, ok := errors.AsType[*awscred.Error](err); ok && !ce.Transient {
		return gcerrors.PermissionDenied
	}
	return gcerrors.Unknown
}

// svc is what the shared HTTP helpers need to word this driver's errors.
var svc = objhttp.Service{Name: "s3", Scheme: "s3", Invalid: errInvalid, Malformed: errMalformed, Unimplemented: errUnimplemented}

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
	// S3 differs from the shared mapping on purpose: a redirect means
	// the wrong region (the message says which), 503 is S3's SlowDown,
	// 409 a conflicting concurrent request, and both are retried.
	switch s := e.Status; {
	case s == http.StatusServiceUnavailable:
		return gcerrors.ResourceExhausted
	case s == http.StatusConflict:
		return gcerrors.Internal
	case s < 400:
		return gcerrors.InvalidArgument
	}
	return objhttp.StatusCode(e.Status)
}
