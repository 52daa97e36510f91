package backend

import (
	"errors"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"
)

// storeAnswer is what a store said about a failed request: its HTTP
// status and its own error code (S3's "SignatureDoesNotMatch", Azure's
// "BlobAlreadyExists", GCS's reason "notFound"). Both are zero when the
// request got no answer (a network error, a cancelled context).
type storeAnswer struct {
	status int
	code   string
	token  bool   // the answer is a token service's, not the store's
	region string // S3's x-amz-bucket-region: where the bucket really is
}

// wrongRegion reports an S3 answer naming another region for the bucket
// than the one the request was signed for (AWS answers 301 or 400).
func (a storeAnswer) wrongRegion() bool {
	return a.region != "" && (a.status == 301 || a.code == "PermanentRedirect" || a.code == "AuthorizationHeaderMalformed" || a.code == "IllegalLocationConstraintException")
}

// refused reports an answer that denies access: the store's 401 or 403,
// or a token service's refusal to issue a token.
func (a storeAnswer) refused() bool {
	return a.status == 401 || a.status == 403 || a.token && a.status >= 400 && a.status < 500
}

// answerOf digs the store's answer out of an error from any driver or
// SDK the backend uses. gocloud maps some answers (S3's 403
// SignatureDoesNotMatch) to gcerrors.Unknown, which says nothing.
func answerOf(err error) storeAnswer {
	var a storeAnswer
	var withStatus interface{ HTTPStatusCode() int }
	if errors.As(err, &withStatus) {
		a.status = withStatus.HTTPStatusCode()
	}
	var resp *awshttp.ResponseError
	if errors.As(err, &resp) && resp.Response != nil {
		a.region = resp.Response.Header.Get("x-amz-bucket-region")
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		a.code = api.ErrorCode()
	}
	var g *googleapi.Error
	if errors.As(err, &g) {
		a.status = g.Code
		if len(g.Errors) > 0 {
			a.code = g.Errors[0].Reason
		}
	}
	var az *azcore.ResponseError
	if errors.As(err, &az) {
		a.status, a.code = az.StatusCode, az.ErrorCode
	}
	var entra *azidentity.AuthenticationFailedError
	if errors.As(err, &entra) && entra.RawResponse != nil {
		a.status, a.token = entra.RawResponse.StatusCode, true
	}
	var token *oauth2.RetrieveError
	if errors.As(err, &token) && token.Response != nil {
		// The token service refused (or failed): its status, not the
		// store's, with the OAuth error code ("invalid_grant").
		a.status, a.code, a.token = token.Response.StatusCode, token.ErrorCode, true
	}
	return a
}

// alreadyExists reports an answer refusing a write-once create because
// the object exists (S3 and GCS: 412; Azure: 409 BlobAlreadyExists).
func (a storeAnswer) alreadyExists() bool {
	return a.status == 412 || a.code == "BlobAlreadyExists" || a.code == "PreconditionFailed" || a.code == "ConditionNotMet"
}

// transient reports an answer worth another try: request timeout,
// conflict (a concurrent operation on the same name), throttling and
// server errors. Every store is treated alike.
func (a storeAnswer) transient() bool {
	if a.alreadyExists() || a.refused() || a.wrongRegion() {
		return false
	}
	return a.status == 408 || a.status == 409 || a.status == 429 || a.status >= 500
}

// noCredentials reports an error that no request was sent for because no
// credentials could be found or fetched: waiting does not help.
func noCredentials(err error) bool {
	var s *v4.SigningError
	var entra *azidentity.AuthenticationFailedError
	return errors.As(err, &s) || errors.As(err, &entra) ||
		final(err) && strings.Contains(err.Error(), "Credential") // azidentity's "credential unavailable"
}

// final reports an error the SDK marks as not worth retrying.
func final(err error) bool {
	var f interface{ NonRetriable() }
	return errors.As(err, &f)
}
