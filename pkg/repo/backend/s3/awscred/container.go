package awscred

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// ecsHost is where ECS serves AWS_CONTAINER_CREDENTIALS_RELATIVE_URI.
const ecsHost = "http://169.254.170.2"

// containerHosts are the link-local addresses ECS and EKS Pod Identity
// serve credentials on; any other plain-http host must be loopback, so a
// token is never sent in clear text across a network.
var containerHosts = map[string]bool{"169.254.170.2": true, "169.254.170.23": true, "fd00:ec2::23": true}

// endpointTimeout bounds one call to a container endpoint or IMDS.
const endpointTimeout = 10 * time.Second

// container fetches credentials from an ECS or EKS Pod Identity endpoint.
type container struct {
	url       string
	token     string // AWS_CONTAINER_AUTHORIZATION_TOKEN
	tokenFile string // AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, re-read each time (rotated)
	client    *http.Client
}

// newContainer returns the container provider the environment configures,
// or nil if it configures none.
func newContainer(env func(string) string, client *http.Client) (*container, error) {
	const src = "container endpoint"
	c := &container{token: env("AWS_CONTAINER_AUTHORIZATION_TOKEN"), tokenFile: env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"), client: client}
	if rel := env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); rel != "" {
		if !strings.HasPrefix(rel, "/") {
			return nil, errorf(src, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with '/'")
		}
		c.url = ecsHost + rel
		return c, nil
	}
	full := env("AWS_CONTAINER_CREDENTIALS_FULL_URI")
	if full == "" {
		return nil, nil
	}
	u, err := url.Parse(full)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, errorf(src, "AWS_CONTAINER_CREDENTIALS_FULL_URI is not an http(s) URL")
	}
	if u.Scheme == "http" && !allowedHTTPHost(u.Hostname()) {
		return nil, errorf(src, "AWS_CONTAINER_CREDENTIALS_FULL_URI uses plain http to %q: only loopback and the ECS/EKS link-local addresses may, use https otherwise", u.Hostname())
	}
	c.url = full
	return c, nil
}

// allowedHTTPHost reports whether host may be reached over plain http.
func allowedHTTPHost(host string) bool {
	if host == "localhost" || containerHosts[host] {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Retrieve implements Provider.
func (c *container) Retrieve(ctx context.Context) (Credentials, error) {
	const src = "container endpoint"
	ctx, cancel := context.WithTimeout(ctx, endpointTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return Credentials{}, errorf(src, "%v", err)
	}
	token := c.token
	if c.tokenFile != "" {
		b, err := os.ReadFile(c.tokenFile)
		if err != nil {
			return Credentials{}, errorf(src, "read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: %v", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if strings.ContainsAny(token, "\r\n") {
		return Credentials{}, errorf(src, "the authorization token holds a line break")
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return Credentials{}, &Error{Source: src, Msg: "calling " + redactURL(c.url) + ": " + transportMessage(err), Transient: true}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return Credentials{}, &Error{Source: src, Msg: "reading the answer: " + err.Error(), Transient: true}
	}
	creds, derr := DecodeJSONCreds(body)
	if resp.StatusCode != http.StatusOK {
		msg := fmt.Sprintf("%s answered HTTP %d", redactURL(c.url), resp.StatusCode)
		if derr != nil {
			msg += ": " + derr.Error()
		}
		return Credentials{}, &Error{Source: src, Msg: msg, Transient: resp.StatusCode >= 500 || resp.StatusCode == 429}
	}
	if derr != nil {
		return Credentials{}, &Error{Source: src, Msg: derr.Error(), Transient: true}
	}
	return creds, nil
}

// redactURL drops the query of a credential endpoint's URL for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the endpoint"
	}
	u.RawQuery, u.User = "", nil
	return u.String()
}
