// Package awscred finds AWS credentials the way the AWS SDKs do, without
// the SDK: environment variables, EKS IRSA web identity (STS
// AssumeRoleWithWebIdentity), container endpoints (EKS Pod Identity, ECS),
// the shared credentials and config files, and EC2 instance metadata
// (IMDSv2). Temporary credentials are cached and refreshed before they
// expire. Cairn's S3 driver signs requests with what it returns.
package awscred

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo/backend/s3/sigv4"
)

// Credentials are the keys a request is signed with.
type Credentials = sigv4.Credentials

// Provider fetches credentials; each call may contact a service.
type Provider interface {
	// Retrieve returns fresh credentials or an *Error saying why not.
	Retrieve(ctx context.Context) (Credentials, error)
}

// Error says which credential source failed and why, in words that say
// what to fix. It never holds a secret, a token or a signed request.
type Error struct {
	// Source names where credentials were looked for ("web identity",
	// "shared config file", ...).
	Source string
	// Msg explains the failure.
	Msg string
	// Transient is set when trying again later may succeed (a 5xx from STS,
	// a throttled call, a timeout talking to a credential endpoint).
	Transient bool
}

// Error implements error.
func (e *Error) Error() string { return "AWS credentials from " + e.Source + ": " + e.Msg }

// errorf builds a permanent *Error.
func errorf(source, format string, args ...any) *Error {
	return &Error{Source: source, Msg: fmt.Sprintf(format, args...)}
}

// Options tell Resolve where to look.
type Options struct {
	// Profile is the shared-files profile to use; empty means AWS_PROFILE,
	// else "default". Naming one explicitly makes it win over the
	// environment's keys, as in the AWS SDKs.
	Profile string
	// Region is the region STS is called in for web identity.
	Region string
	// Client sends requests to STS and container endpoints (it should
	// trust AWS_CA_BUNDLE). Nil means a client with default settings.
	Client *http.Client
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 30 * time.Second}
	}
}

// Resolve picks the first credential source that is configured, in the
// order the AWS SDKs use: an explicitly chosen profile; the AWS_ACCESS_KEY_ID
// and AWS_SECRET_ACCESS_KEY variables; web identity
// (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN); a container endpoint
// (AWS_CONTAINER_CREDENTIALS_FULL_URI or _RELATIVE_URI); the shared files'
// profile; EC2 instance metadata. Only the choice is made here (from the
// environment and files, no network); the returned provider caches what it
// fetches and refreshes it five minutes before it expires. The string names
// the source, for messages.
func Resolve(opts Options) (Provider, string, error) {
	opts.defaults()
	env := opts.Getenv
	explicit := opts.Profile != "" || env("AWS_PROFILE") != ""
	prof, err := LoadProfile(env, opts.Profile)
	if err != nil {
		return nil, "", err
	}
	if explicit {
		p, src, err := fromProfile(prof, opts)
		if err != nil || p != nil {
			return p, src, err
		}
		if !prof.Found && prof.Name != "default" {
			return nil, "", errorf("shared config files", "profile %q is not defined in %s or %s", prof.Name, prof.CredentialsFile, prof.ConfigFile)
		}
	}
	id, secret := env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")
	switch {
	case id != "" && secret != "":
		return Static{Creds: Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: env("AWS_SESSION_TOKEN")}}, "environment", nil
	case id != "":
		return nil, "", errorf("environment", "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both, or neither")
	case secret != "":
		return nil, "", errorf("environment", "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not: set both, or neither")
	}
	if tokenFile := env("AWS_WEB_IDENTITY_TOKEN_FILE"); tokenFile != "" {
		role := env("AWS_ROLE_ARN")
		if role == "" {
			return nil, "", errorf("web identity", "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not (EKS IRSA sets both when the service account is annotated with eks.amazonaws.com/role-arn)")
		}
		w := newWebIdentity(tokenFile, role, env("AWS_ROLE_SESSION_NAME"), opts)
		return NewCache(w, opts.Now), "web identity (" + role + ")", nil
	}
	if c, err := newContainer(env, opts.Client); err != nil || c != nil {
		if err != nil {
			return nil, "", err
		}
		return NewCache(c, opts.Now), "container endpoint", nil
	}
	if !explicit {
		p, src, err := fromProfile(prof, opts)
		if err != nil || p != nil {
			return p, src, err
		}
	}
	if strings.EqualFold(env("AWS_EC2_METADATA_DISABLED"), "true") {
		return nil, "", errorf("any source", "none is configured: %s (EC2 instance metadata is disabled by AWS_EC2_METADATA_DISABLED)", howToConfigure)
	}
	return NewCache(newIMDS(env), opts.Now), "EC2 instance metadata", nil
}

// howToConfigure lists the ways to give credentials, for error messages.
const howToConfigure = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, use EKS IRSA (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN) or EKS Pod Identity, " +
	"put keys in ~/.aws/credentials (or AWS_SHARED_CREDENTIALS_FILE), or run on EC2 with an instance role; for a public bucket add ?anonymous=true"

// fromProfile returns the provider a shared-files profile configures, or
// nil if it configures none.
func fromProfile(p *Profile, opts Options) (Provider, string, error) {
	if !p.Found {
		return nil, "", nil
	}
	src := "profile " + p.Name
	for _, k := range unsupportedKeys {
		if p.Values[k] != "" {
			return nil, "", errorf(src, "%q is not supported by cairn; use static keys, web identity (role_arn with web_identity_token_file), or export the credentials into AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN", k)
		}
	}
	if role, tokenFile := p.Values["role_arn"], p.Values["web_identity_token_file"]; role != "" {
		if tokenFile == "" {
			return nil, "", errorf(src, "role_arn without web_identity_token_file (assuming a role from source_profile or credential_source) is not supported by cairn; export that role's credentials into the AWS_* variables instead")
		}
		w := newWebIdentity(tokenFile, role, p.Values["role_session_name"], opts)
		return NewCache(w, opts.Now), src + " (web identity " + role + ")", nil
	}
	id, secret := p.Values["aws_access_key_id"], p.Values["aws_secret_access_key"]
	switch {
	case id != "" && secret != "":
		return Static{Creds: Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: p.Values["aws_session_token"]}}, src, nil
	case id != "" || secret != "":
		return nil, "", errorf(src, "needs both aws_access_key_id and aws_secret_access_key")
	}
	return nil, "", nil
}

// unsupportedKeys are profile settings that configure a credential source
// cairn does not implement; a profile using one is refused by name rather
// than silently falling through to another source.
var unsupportedKeys = []string{"credential_process", "sso_session", "sso_start_url", "sso_account_id", "sso_role_name", "login_session", "source_profile", "credential_source"}

// Static returns fixed credentials (long-term keys).
type Static struct{ Creds Credentials }

// Retrieve implements Provider.
func (s Static) Retrieve(context.Context) (Credentials, error) { return s.Creds, nil }

// refreshEarly is how long before expiry credentials are replaced, so a
// request signed now does not arrive with expired credentials.
const refreshEarly = 5 * time.Minute

// Cache keeps what a provider returned until shortly before it expires.
// It is safe for concurrent use; one caller refreshes while the others wait.
type Cache struct {
	p   Provider
	now func() time.Time
	mu  sync.Mutex
	cur Credentials
	ok  bool
}

// NewCache wraps p; now may be nil (time.Now).
func NewCache(p Provider, now func() time.Time) *Cache {
	if now == nil {
		now = time.Now
	}
	return &Cache{p: p, now: now}
}

// Retrieve implements Provider: it returns the cached credentials while
// they have more than five minutes left, else fetches new ones. If the
// refresh fails while the old ones are still valid, those are used.
func (c *Cache) Retrieve(ctx context.Context) (Credentials, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.ok && (c.cur.Expires.IsZero() || now.Before(c.cur.Expires.Add(-refreshEarly))) {
		return c.cur, nil
	}
	creds, err := c.p.Retrieve(ctx)
	if err != nil {
		if c.ok && now.Before(c.cur.Expires) {
			return c.cur, nil
		}
		return Credentials{}, err
	}
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
		return Credentials{}, &Error{Source: "credential provider", Msg: "answer without an access key"}
	}
	c.cur, c.ok = creds, true
	return creds, nil
}

// IsTransient reports whether err is a credential failure that may heal by
// itself (a throttled STS, an endpoint that timed out).
func IsTransient(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Transient
}

// DefaultRegion is the region used when nothing names one, as in the SDKs.
const DefaultRegion = "us-east-1"

// Region picks the region: explicit (the URL's ?region=), else AWS_REGION,
// else AWS_DEFAULT_REGION, else the profile's region, else us-east-1.
// getenv nil means os.Getenv.
func Region(explicit string, getenv func(string) string, profile string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	for _, r := range []string{explicit, getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION")} {
		if r != "" {
			return r, nil
		}
	}
	p, err := LoadProfile(getenv, profile)
	if err != nil {
		return "", err
	}
	if r := p.Values["region"]; r != "" {
		return r, nil
	}
	return DefaultRegion, nil
}
