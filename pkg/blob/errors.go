package blob

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"strings"

	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

// Reason says why a storage cannot be used. The values are CamelCase so a
// controller can use them as condition reasons as they are.
type Reason string

// Reasons an open or a check fails for.
const (
	// ReasonSecretMissing: the credentials Secret does not exist.
	ReasonSecretMissing Reason = "SecretMissing"
	// ReasonKeyMissing: the Secret lacks a required key (Error.Key).
	ReasonKeyMissing Reason = "KeyMissing"
	// ReasonCredentialsRejected: the store does not accept the credentials
	// (Error.Code is the store's code, e.g. InvalidAccessKeyId).
	ReasonCredentialsRejected Reason = "CredentialsRejected"
	// ReasonBucketNotFound: the bucket (container) does not exist.
	ReasonBucketNotFound Reason = "BucketNotFound"
	// ReasonPermissionDenied: the credentials are valid but may not list,
	// read or write under the prefix.
	ReasonPermissionDenied Reason = "PermissionDenied"
	// ReasonEndpointUnreachable: no answer (DNS, connection, TLS, timeout).
	ReasonEndpointUnreachable Reason = "EndpointUnreachable"
	// ReasonInvalid: the BackupStorage's settings cannot work as written.
	ReasonInvalid Reason = "InvalidConfiguration"
	// ReasonStoreError: the store answered with another error.
	ReasonStoreError Reason = "StoreError"
)

// Error is a failure to use a storage, with the reason a person acts on.
// Its message names what to fix and never holds a secret.
type Error struct {
	Reason Reason
	// Code is the store's own error code when it gave one.
	Code string
	// Key is the missing Secret key, for ReasonKeyMissing.
	Key string
	msg string
	err error
}

func (e *Error) Error() string {
	if e.err == nil {
		return e.msg
	}
	return e.msg + ": " + e.err.Error()
}

func (e *Error) Unwrap() error { return e.err }

// ReasonOf is err's Reason, ReasonStoreError for an error of another kind.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ReasonStoreError
}

// credentialCodes are store codes that mean "who you are is not
// accepted", as opposed to "you may not do this".
var credentialCodes = []string{
	"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidClientTokenId", "ExpiredToken",
	"InvalidToken", "TokenRefreshRequired", "AuthenticationFailed", "InvalidAuthenticationInfo",
	"invalid_grant", "invalid_client", "unauthorized_client", "XMinioInvalidAccessKeyId",
}

// permissionCodes are store codes that deny an operation.
var permissionCodes = []string{
	"AccessDenied", "AuthorizationPermissionMismatch", "AuthorizationFailure", "AllAccessDisabled",
	"AccountIsDisabled", "InsufficientAccountPermissions", "forbidden",
}

// storeCode finds the store's error code in msg. The backend keeps the
// driver's message but not its typed error, so the code is read from the
// text ("api error InvalidAccessKeyId: ...").
func storeCode(msg string, codes []string) string {
	for _, c := range codes {
		if strings.Contains(msg, c) {
			return c
		}
	}
	return ""
}

// classify turns an error of backend.Open or of an operation on an opened
// backend into an *Error. where says what was being done, for the message.
func classify(err error, where string) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	msg := err.Error()
	if code := storeCode(msg, credentialCodes); code != "" {
		return &Error{Reason: ReasonCredentialsRejected, Code: code, err: err,
			msg: where + ": the store rejected the credentials (" + code + "): check the access key and secret in the credentials Secret, or that they are not expired or revoked"}
	}
	var x509Err x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.Is(err, backend.ErrInvalid):
		return &Error{Reason: ReasonInvalid, err: err, msg: where + ": the storage settings are invalid"}
	case errors.Is(err, backend.ErrNoBucket):
		return &Error{Reason: ReasonBucketNotFound, err: err, msg: where + ": the bucket does not exist: create it, or fix the bucket name (and region or endpoint)"}
	case errors.Is(err, backend.ErrPermission):
		code := storeCode(msg, permissionCodes)
		return &Error{Reason: ReasonPermissionDenied, Code: code, err: err,
			msg: where + ": the credentials are not allowed to list, read, write and delete objects under the prefix" + codeSuffix(code) + ": grant them that on the bucket"}
	case errors.As(err, &x509Err), errors.As(err, &hostErr):
		return &Error{Reason: ReasonEndpointUnreachable, err: err, msg: where + ": the endpoint's TLS certificate is not trusted: use an endpoint with a certificate from a public CA, or http:// inside the cluster"}
	case errors.As(err, &dnsErr):
		return &Error{Reason: ReasonEndpointUnreachable, err: err, msg: where + ": the endpoint's host name does not resolve: fix the endpoint"}
	case errors.As(err, &opErr), strings.Contains(msg, "connection refused"), strings.Contains(msg, "no such host"),
		strings.Contains(msg, "i/o timeout"), errors.Is(err, context.DeadlineExceeded):
		return &Error{Reason: ReasonEndpointUnreachable, err: err, msg: where + ": the endpoint does not answer: check the endpoint URL and that the store is running and reachable from the cluster (network policies, firewalls)"}
	}
	return &Error{Reason: ReasonStoreError, err: err, msg: where + ": the store answered with an error"}
}

func codeSuffix(code string) string {
	if code == "" {
		return ""
	}
	return " (" + code + ")"
}
