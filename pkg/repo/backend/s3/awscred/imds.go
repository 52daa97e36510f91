package awscred

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// imdsEndpoint is EC2's instance metadata service.
const imdsEndpoint = "http://169.254.169.254"

// imdsTokenTimeout bounds the first call, so that a run off EC2 (where
// nothing answers the link-local address) fails in a second, not a minute.
const imdsTokenTimeout = time.Second

// imds fetches the instance role's credentials with IMDSv2 (a session
// token first, then the role's credentials).
type imds struct {
	base   string
	client *http.Client
}

func newIMDS(env func(string) string) *imds {
	base := imdsEndpoint
	if e := env("AWS_EC2_METADATA_SERVICE_ENDPOINT"); e != "" {
		base = strings.TrimRight(e, "/")
	}
	// Never through a proxy: the address is link-local.
	tr := &http.Transport{DialContext: (&net.Dialer{Timeout: imdsTokenTimeout}).DialContext, MaxIdleConns: 2}
	return &imds{base: base, client: &http.Client{Transport: tr}}
}

// Retrieve implements Provider.
func (m *imds) Retrieve(ctx context.Context) (Credentials, error) {
	const src = "EC2 instance metadata"
	tctx, cancel := context.WithTimeout(ctx, imdsTokenTimeout)
	token, status, err := m.call(tctx, http.MethodPut, "/latest/api/token", map[string]string{"X-Aws-Ec2-Metadata-Token-Ttl-Seconds": "21600"})
	cancel()
	if err != nil || status != http.StatusOK {
		if ctx.Err() != nil {
			return Credentials{}, ctx.Err()
		}
		why := fmt.Sprintf("HTTP %d", status)
		if err != nil {
			why = "no answer"
		}
		return Credentials{}, errorf("any source", "none is configured: %s (the EC2 instance metadata service at %s gave %s)", howToConfigure, m.base, why)
	}
	hdr := map[string]string{"X-Aws-Ec2-Metadata-Token": strings.TrimSpace(string(token))}
	ctx, cancel = context.WithTimeout(ctx, endpointTimeout)
	defer cancel()
	const path = "/latest/meta-data/iam/security-credentials/"
	roles, status, err := m.call(ctx, http.MethodGet, path, hdr)
	if err := checkIMDS(err, status, "listing the instance's role"); err != nil {
		return Credentials{}, err
	}
	role, _, _ := strings.Cut(strings.TrimSpace(string(roles)), "\n")
	if role == "" || strings.ContainsAny(role, "/?#") {
		return Credentials{}, errorf(src, "the instance has no IAM role: attach an instance profile, or give credentials another way")
	}
	body, status, err := m.call(ctx, http.MethodGet, path+role, hdr)
	if err := checkIMDS(err, status, "reading the role's credentials"); err != nil {
		return Credentials{}, err
	}
	creds, err := DecodeJSONCreds(body)
	if err != nil {
		return Credentials{}, &Error{Source: src, Msg: err.Error(), Transient: true}
	}
	return creds, nil
}

// checkIMDS turns a failed metadata call into an *Error.
func checkIMDS(err error, status int, what string) error {
	const src = "EC2 instance metadata"
	switch {
	case err != nil:
		return &Error{Source: src, Msg: what + ": " + transportMessage(err), Transient: !errors.Is(err, context.Canceled)}
	case status == http.StatusNotFound:
		return errorf(src, "%s: the instance has no IAM role: attach an instance profile, or give credentials another way", what)
	case status != http.StatusOK:
		return &Error{Source: src, Msg: fmt.Sprintf("%s: HTTP %d", what, status), Transient: status >= 500 || status == 429}
	}
	return nil
}

// call sends one metadata request and returns the body and status.
func (m *imds) call(ctx context.Context, method, path string, hdr map[string]string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, method, m.base+path, nil)
	if err != nil {
		return nil, 0, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	return body, resp.StatusCode, err
}
