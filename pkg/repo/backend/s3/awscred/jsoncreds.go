package awscred

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/safetext"
)

// jsonCreds is the answer of both container endpoints and IMDS.
type jsonCreds struct {
	Code            string `json:"Code"`
	Message         string `json:"Message"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
}

// DecodeJSONCreds parses the credentials document container endpoints and
// EC2 instance metadata serve. A "Code" other than "Success" is an error
// carrying the document's message; a document without an expiry is
// accepted as long-lived only if it has no session token.
func DecodeJSONCreds(body []byte) (Credentials, error) {
	var j jsonCreds
	if err := json.Unmarshal(body, &j); err != nil {
		return Credentials{}, fmt.Errorf("malformed JSON: %s", safetext.Line(err.Error(), 120))
	}
	if j.Code != "" && j.Code != "Success" {
		return Credentials{}, fmt.Errorf("%s: %s", safetext.Line(j.Code, 64), safetext.Line(j.Message, 200))
	}
	if j.AccessKeyID == "" || j.SecretAccessKey == "" {
		return Credentials{}, errors.New("credentials missing from the answer")
	}
	c := Credentials{AccessKeyID: j.AccessKeyID, SecretAccessKey: j.SecretAccessKey, SessionToken: j.Token}
	if j.Expiration != "" {
		exp, err := time.Parse(time.RFC3339, strings.TrimSpace(j.Expiration))
		if err != nil {
			return Credentials{}, fmt.Errorf("expiration %q is not an RFC 3339 time", safetext.Line(j.Expiration, 40))
		}
		c.Expires = exp
	} else if j.Token != "" {
		return Credentials{}, errors.New("temporary credentials without an expiration")
	}
	return c, nil
}
