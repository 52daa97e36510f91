package awscred

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/safetext"
)

// webIdentity exchanges a projected service-account token for role
// credentials with STS AssumeRoleWithWebIdentity (EKS IRSA). The token file
// is read on every refresh: the kubelet rotates it.
type webIdentity struct {
	tokenFile, role, session string
	endpoint                 string
	client                   *http.Client
	now                      func() time.Time
}

// maxTokenFile bounds the token file (a JWT of a few KiB).
const maxTokenFile = 64 << 10

// stsTimeout bounds one call to STS.
const stsTimeout = 30 * time.Second

// maxAnswer bounds any credential endpoint's answer.
const maxAnswer = 1 << 20

func newWebIdentity(tokenFile, role, session string, opts Options) *webIdentity {
	if session == "" {
		session = "cairn-" + strconv.FormatInt(opts.Now().UnixNano(), 10)
	}
	return &webIdentity{
		tokenFile: tokenFile, role: role, session: session,
		endpoint: stsEndpoint(opts.Getenv("AWS_ENDPOINT_URL_STS"), opts.Region),
		client:   opts.Client, now: opts.Now,
	}
}

// stsEndpoint is the regional STS endpoint (the SDKs' default), or the
// override AWS_ENDPOINT_URL_STS.
func stsEndpoint(override, region string) string {
	switch {
	case override != "":
		return strings.TrimRight(override, "/")
	case region == "":
		return "https://sts.amazonaws.com"
	case strings.HasPrefix(region, "cn-"):
		return "https://sts." + region + ".amazonaws.com.cn"
	}
	return "https://sts." + region + ".amazonaws.com"
}

// Retrieve implements Provider.
func (w *webIdentity) Retrieve(ctx context.Context) (Credentials, error) {
	const src = "web identity"
	f, err := os.Open(w.tokenFile)
	if err != nil {
		return Credentials{}, errorf(src, "read AWS_WEB_IDENTITY_TOKEN_FILE: %v (is the service-account token projected into the pod?)", err)
	}
	token, err := io.ReadAll(io.LimitReader(f, maxTokenFile))
	f.Close()
	if err != nil || len(strings.TrimSpace(string(token))) == 0 {
		return Credentials{}, errorf(src, "token file %s is empty or unreadable", w.tokenFile)
	}
	form := url.Values{
		"Action":           {"AssumeRoleWithWebIdentity"},
		"Version":          {"2011-06-15"},
		"RoleArn":          {w.role},
		"RoleSessionName":  {w.session},
		"WebIdentityToken": {strings.TrimSpace(string(token))},
	}
	ctx, cancel := context.WithTimeout(ctx, stsTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.endpoint+"/", strings.NewReader(form.Encode()))
	if err != nil {
		return Credentials{}, errorf(src, "STS endpoint %q: %v", w.endpoint, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := w.client.Do(req)
	if err != nil {
		return Credentials{}, &Error{Source: src, Msg: "calling STS at " + w.endpoint + ": " + transportMessage(err), Transient: ctx.Err() == nil}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return Credentials{}, &Error{Source: src, Msg: "reading STS's answer: " + err.Error(), Transient: true}
	}
	if resp.StatusCode != http.StatusOK {
		code, msg := DecodeSTSError(body)
		return Credentials{}, &Error{
			Source:    src,
			Msg:       fmt.Sprintf("STS AssumeRoleWithWebIdentity for %s: HTTP %d %s: %s", w.role, resp.StatusCode, code, msg),
			Transient: resp.StatusCode >= 500 || code == "Throttling" || code == "IDPCommunicationError",
		}
	}
	creds, err := DecodeSTS(body)
	if err != nil {
		return Credentials{}, &Error{Source: src, Msg: "STS answer: " + err.Error(), Transient: true}
	}
	return creds, nil
}

// stsAnswer is the part of AssumeRoleWithWebIdentity's answer cairn reads.
type stsAnswer struct {
	Creds struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string `xml:"SecretAccessKey"`
		SessionToken    string `xml:"SessionToken"`
		Expiration      string `xml:"Expiration"`
	} `xml:"AssumeRoleWithWebIdentityResult>Credentials"`
}

// DecodeSTS parses an AssumeRoleWithWebIdentity answer. It insists on a
// key, a secret, a session token and an expiry time.
func DecodeSTS(body []byte) (Credentials, error) {
	var a stsAnswer
	if err := xml.Unmarshal(body, &a); err != nil {
		return Credentials{}, fmt.Errorf("malformed XML: %s", safetext.Line(err.Error(), 120))
	}
	c := a.Creds
	if c.AccessKeyID == "" || c.SecretAccessKey == "" || c.SessionToken == "" {
		return Credentials{}, fmt.Errorf("credentials missing from the answer")
	}
	exp, err := time.Parse(time.RFC3339, strings.TrimSpace(c.Expiration))
	if err != nil {
		return Credentials{}, fmt.Errorf("expiration %q is not an RFC 3339 time", safetext.Line(c.Expiration, 40))
	}
	return Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, Expires: exp}, nil
}

// DecodeSTSError extracts the code and message of an STS error answer
// (printable and bounded); a body that is not one gives its first line.
func DecodeSTSError(body []byte) (code, msg string) {
	var e struct {
		Code    string `xml:"Error>Code"`
		Message string `xml:"Error>Message"`
	}
	if xml.Unmarshal(body, &e) != nil || e.Code == "" {
		return "", safetext.Line(string(body), 200)
	}
	return safetext.Line(e.Code, 64), safetext.Line(e.Message, 300)
}

// transportMessage is a transport error without the request URL's query.
func transportMessage(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return safetext.Line(ue.Err.Error(), 200)
	}
	return safetext.Line(err.Error(), 200)
}
