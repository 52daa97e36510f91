package backend

import (
	"context"
	"errors"
	"net/http"
	"testing"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// A credential error is final unless the credential service's own answer
// says to wait: an STS or metadata service answering 503 is retried and
// classified as nothing in particular, one answering 403 is ErrPermission
// at once, and no answer at all (no source found) is ErrPermission.
func TestCredentialErrors(t *testing.T) {
	signing := func(status int) error {
		var cause error = errors.New("no EC2 IMDS role found")
		if status != 0 {
			cause = &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: http.Header{}}},
				Err:      errors.New("credential service"),
			}}
		}
		return &v4.SigningError{Err: cause}
	}
	for _, tc := range []struct {
		status    int
		transient bool
		want      error
	}{
		{503, true, nil},
		{429, true, nil},
		{403, false, ErrPermission},
		{0, false, ErrPermission},
	} {
		err := signing(tc.status)
		if got := transient(context.Background(), err); got != tc.transient {
			t.Errorf("status %d: transient = %v, want %v", tc.status, got, tc.transient)
		}
		if got := sentinel(err); got != tc.want {
			t.Errorf("status %d: sentinel %v, want %v", tc.status, got, tc.want)
		}
	}
}
