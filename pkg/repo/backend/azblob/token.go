package azblob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/objhttp"
	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/safetext"
)

// Microsoft Entra access tokens for the Blob service: from a federated
// token file (AKS workload identity), from a client secret, or from the
// instance metadata service (managed identity). Tokens are cached and
// fetched again shortly before they expire.

// StorageScope is the OAuth scope requested from Microsoft Entra ID.
const StorageScope = "https://storage.azure.com/.default"

// storageResource is the same audience in the form IMDS takes.
const storageResource = "https://storage.azure.com/"

// DefaultAuthorityHost is Microsoft Entra ID in Azure's public cloud;
// AZURE_AUTHORITY_HOST names another (sovereign clouds).
const DefaultAuthorityHost = "https://login.microsoftonline.com/"

// DefaultIMDSEndpoint is the managed-identity token endpoint of the
// instance metadata service.
const DefaultIMDSEndpoint = "http://169.254.169.254/metadata/identity/oauth2/token"

// refreshBefore is how long before expiry a cached token is replaced.
const refreshBefore = 5 * time.Minute

// maxTokenBody bounds a token endpoint's answer.
const maxTokenBody = 1 << 20

// tokenSource fetches a new access token.
type tokenSource interface {
	fetch(ctx context.Context) (accessToken, error)
}

// accessToken is a token and when it stops being valid.
type accessToken struct {
	value   string
	expires time.Time
}

// tokenCache hands out a cached token, fetching a new one when it is
// within refreshBefore of its expiry. One fetch runs at a time; if it
// fails while the old token is still valid, the old one is used.
type tokenCache struct {
	src tokenSource
	now func() time.Time

	mu  sync.Mutex
	tok accessToken
}

// token returns a valid access token.
func (c *tokenCache) token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.tok.value != "" && now.Add(refreshBefore).Before(c.tok.expires) {
		return c.tok.value, nil
	}
	tok, err := c.src.fetch(ctx)
	if err != nil {
		if c.tok.value != "" && now.Before(c.tok.expires) {
			return c.tok.value, nil
		}
		return "", err
	}
	c.tok = tok
	return tok.value, nil
}

// tokenJSON is a token endpoint's answer, success or failure. IMDS sends
// expires_in as a string, Entra ID as a number.
type tokenJSON struct {
	AccessToken      string          `json:"access_token"`
	ExpiresIn        json.RawMessage `json:"expires_in"`
	Error            string          `json:"error"`
	ErrorDescription string          `json:"error_description"`
}

// decodeToken parses a token endpoint's answer with the given status.
// A failure becomes an *Error (401 for refused credentials, so they are
// not retried; the endpoint's status for 429 and 5xx, so they are).
// source names the endpoint in messages.
func decodeToken(source string, status int, body []byte, now time.Time) (accessToken, error) {
	var t tokenJSON
	jsonErr := json.Unmarshal(body, &t)
	if status/100 != 2 || t.Error != "" {
		st := status
		if st/100 == 2 || (st != http.StatusTooManyRequests && st < 500) {
			st = http.StatusUnauthorized
		}
		msg := "getting a token from " + source + " failed"
		if jsonErr == nil && t.Error != "" {
			msg += ": " + t.Error
			if t.ErrorDescription != "" {
				desc, _, _ := strings.Cut(t.ErrorDescription, "\n")
				msg += ": " + desc
			}
		} else {
			msg += fmt.Sprintf(" (HTTP %d)", status)
		}
		return accessToken{}, &Error{Op: "get token", Status: st, Message: safetext.Line(msg, objhttp.MaxMessage)}
	}
	if jsonErr != nil || t.AccessToken == "" {
		return accessToken{}, fmt.Errorf("%w: token endpoint answered without an access token", errMalformed)
	}
	secs, err := strconv.ParseInt(strings.Trim(string(t.ExpiresIn), `"`), 10, 64)
	if err != nil || secs <= 0 || secs > 30*24*3600 {
		return accessToken{}, fmt.Errorf("%w: token endpoint sent expires_in %q", errMalformed, safetext.Line(string(t.ExpiresIn), 40))
	}
	return accessToken{value: t.AccessToken, expires: now.Add(time.Duration(secs) * time.Second)}, nil
}

// readToken sends a token request and decodes the answer. Transport
// failures keep their cause but never the request (it holds the assertion
// or secret).
func readToken(source string, client *http.Client, req *http.Request, now func() time.Time) (accessToken, error) {
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return accessToken{}, fmt.Errorf("azblob: get token from %s: %w", req.URL.Host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
	if err != nil {
		return accessToken{}, fmt.Errorf("azblob: get token from %s: %w", req.URL.Host, err)
	}
	return decodeToken(source, resp.StatusCode, body, now())
}

// entraToken gets tokens from Microsoft Entra ID's v2.0 token endpoint
// with the client-credentials grant: a federated token read from a file
// (workload identity; the file is re-read each time, as the kubelet
// rotates it) or a client secret.
type entraToken struct {
	client        *http.Client
	endpoint      string // https://login.../<tenant>/oauth2/v2.0/token
	clientID      string
	assertionFile string // workload identity
	secret        string // client secret
	now           func() time.Time
}

// fetch implements tokenSource.
func (e *entraToken) fetch(ctx context.Context) (accessToken, error) {
	form := url.Values{
		"grant_type": {"client_credentials"},
		"client_id":  {e.clientID},
		"scope":      {StorageScope},
	}
	if e.assertionFile != "" {
		jwt, err := os.ReadFile(e.assertionFile)
		if err != nil {
			return accessToken{}, &Error{Op: "get token", Status: http.StatusUnauthorized,
				Message: safetext.Line("reading the federated token file named by AZURE_FEDERATED_TOKEN_FILE failed: "+err.Error(), objhttp.MaxMessage)}
		}
		form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		form.Set("client_assertion", strings.TrimSpace(string(jwt)))
	} else {
		form.Set("client_secret", e.secret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return accessToken{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return readToken("Microsoft Entra ID", e.client, req, e.now)
}

// newEntraToken checks the tenant and authority and builds the endpoint.
func newEntraToken(client *http.Client, authority, tenant, clientID string) (*entraToken, error) {
	if authority == "" {
		authority = DefaultAuthorityHost
	}
	au, err := url.Parse(authority)
	if err != nil || au.Host == "" || (au.Scheme != "https" && !isLoopback(au.Hostname())) {
		return nil, fmt.Errorf("AZURE_AUTHORITY_HOST=%q is not an https URL (e.g. %s): %w", authority, DefaultAuthorityHost, errInvalid)
	}
	if tenant == "" || strings.IndexFunc(tenant, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.')
	}) >= 0 {
		return nil, fmt.Errorf("AZURE_TENANT_ID=%q is not a tenant ID or domain: %w", tenant, errInvalid)
	}
	if clientID == "" {
		return nil, fmt.Errorf("AZURE_CLIENT_ID is not set: it names the application (or user-assigned identity) to get a token for: %w", errInvalid)
	}
	return &entraToken{
		client:   client,
		endpoint: strings.TrimRight(authority, "/") + "/" + tenant + "/oauth2/v2.0/token",
		clientID: clientID,
		now:      time.Now,
	}, nil
}

// imdsToken gets managed-identity tokens from the instance metadata
// service; clientID, if set, selects a user-assigned identity.
type imdsToken struct {
	client   *http.Client
	endpoint string
	clientID string
	now      func() time.Time
}

// imdsDialTimeout bounds connecting to IMDS, so a run off Azure (where
// nothing answers at 169.254.169.254) fails fast instead of hanging.
const imdsDialTimeout = time.Second

// newIMDSClient is a client whose connection attempts give up quickly.
func newIMDSClient() *http.Client {
	d := &net.Dialer{Timeout: imdsDialTimeout}
	return &http.Client{
		Transport: &http.Transport{DialContext: d.DialContext, ResponseHeaderTimeout: 30 * time.Second, Proxy: nil},
		Timeout:   time.Minute,
	}
}

// fetch implements tokenSource.
func (m *imdsToken) fetch(ctx context.Context) (accessToken, error) {
	q := url.Values{"api-version": {"2018-02-01"}, "resource": {storageResource}}
	if m.clientID != "" {
		q.Set("client_id", m.clientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.endpoint+"?"+q.Encode(), nil)
	if err != nil {
		return accessToken{}, err
	}
	req.Header.Set("Metadata", "true")
	tok, err := readToken("the managed identity endpoint", m.client, req, m.now)
	var e *Error
	switch {
	case errors.As(err, &e) && e.Status == http.StatusUnauthorized:
		// It answered, but has no identity for this machine.
		e.Message += "; " + noCredentials
	case err != nil && e == nil && ctx.Err() == nil && !errors.Is(err, errMalformed):
		// Nothing answered: this is not an Azure VM or pod with an identity.
		return accessToken{}, &Error{Op: "get token", Status: http.StatusUnauthorized, Message: noCredentials +
			" (the managed identity endpoint did not answer: " + safetext.Line(err.Error(), objhttp.MaxMessage) + ")"}
	}
	return tok, err
}

// noCredentials says what to set when no credential source is available.
const noCredentials = "no Azure credentials: set AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN, AZURE_STORAGE_CONNECTION_STRING, or use workload identity (AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID) or a managed identity"

// isLoopback reports whether host is a loopback name or address (test
// token endpoints and emulators).
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
