package awscred

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// env is a fake environment; HOME points at an empty directory unless set.
func env(t *testing.T, kv ...string) func(string) string {
	m := map[string]string{"HOME": t.TempDir()}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func retrieve(t *testing.T, opts Options) (Credentials, string, error) {
	t.Helper()
	p, src, err := Resolve(opts)
	if err != nil {
		return Credentials{}, src, err
	}
	c, err := p.Retrieve(t.Context())
	return c, src, err
}

func TestEnvironment(t *testing.T) {
	c, src, err := retrieve(t, Options{Getenv: env(t, "AWS_ACCESS_KEY_ID", "AKID", "AWS_SECRET_ACCESS_KEY", "SECRET", "AWS_SESSION_TOKEN", "TOK")})
	if err != nil || c.AccessKeyID != "AKID" || c.SecretAccessKey != "SECRET" || c.SessionToken != "TOK" || src != "environment" {
		t.Fatalf("%v %v %s", c, err, src)
	}
	_, _, err = retrieve(t, Options{Getenv: env(t, "AWS_ACCESS_KEY_ID", "AKID")})
	if err == nil || !strings.Contains(err.Error(), "AWS_SECRET_ACCESS_KEY is not") {
		t.Fatalf("half the keys: %v", err)
	}
}

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The shared files: keys from the credentials file, region from the config
// file, profiles chosen by AWS_PROFILE or explicitly; an explicit profile
// wins over the environment's keys, as in the SDKs.
func TestSharedFiles(t *testing.T) {
	home := t.TempDir()
	writeFile(t, home, ".aws/credentials", "# comment\n[default]\naws_access_key_id = DEFKEY\naws_secret_access_key = DEFSECRET\n\n[work]\nAWS_ACCESS_KEY_ID=WORKKEY\naws_secret_access_key=WORKSECRET\naws_session_token = WT\n")
	writeFile(t, home, ".aws/config", "[default]\nregion = eu-north-1\ns3 =\n  addressing_style = path\n[profile work]\nregion=ap-east-1\n[profile sso]\nsso_session = corp\n[profile proc]\ncredential_process = /bin/creds\n[profile assume]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = default\n")
	getenv := func(kv ...string) func(string) string { return env(t, append([]string{"HOME", home}, kv...)...) }

	c, src, err := retrieve(t, Options{Getenv: getenv()})
	if err != nil || c.AccessKeyID != "DEFKEY" || src != "profile default" {
		t.Fatalf("default: %v %v %s", c, err, src)
	}
	c, _, err = retrieve(t, Options{Getenv: getenv("AWS_PROFILE", "work", "AWS_ACCESS_KEY_ID", "ENVKEY", "AWS_SECRET_ACCESS_KEY", "ENVSECRET")})
	if err != nil || c.AccessKeyID != "WORKKEY" || c.SessionToken != "WT" {
		t.Fatalf("AWS_PROFILE=work over env keys: %v %v", c, err)
	}
	c, _, err = retrieve(t, Options{Profile: "work", Getenv: getenv()})
	if err != nil || c.AccessKeyID != "WORKKEY" {
		t.Fatalf("profile=work: %v %v", c, err)
	}
	c, _, err = retrieve(t, Options{Getenv: getenv("AWS_ACCESS_KEY_ID", "ENVKEY", "AWS_SECRET_ACCESS_KEY", "ENVSECRET")})
	if err != nil || c.AccessKeyID != "ENVKEY" {
		t.Fatalf("env keys over the default profile: %v %v", c, err)
	}
	for profile, want := range map[string]string{"sso": `"sso_session" is not supported`, "proc": `"credential_process" is not supported`,
		"assume": "source_profile", "nope": `profile "nope" is not defined`} {
		if _, _, err := retrieve(t, Options{Profile: profile, Getenv: getenv()}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("profile %s: %v, want %q", profile, err, want)
		}
	}
	for _, tc := range []struct {
		explicit, profile, want string
		kv                      []string
	}{
		{"us-west-2", "", "us-west-2", []string{"AWS_REGION", "x"}},
		{"", "", "eu-south-1", []string{"AWS_REGION", "eu-south-1", "AWS_DEFAULT_REGION", "x"}},
		{"", "", "me-south-1", []string{"AWS_DEFAULT_REGION", "me-south-1"}},
		{"", "", "eu-north-1", nil},
		{"", "work", "ap-east-1", nil},
	} {
		if got, err := Region(tc.explicit, getenv(tc.kv...), tc.profile); err != nil || got != tc.want {
			t.Errorf("Region(%q, %v, %q) = %q, %v; want %q", tc.explicit, tc.kv, tc.profile, got, err, tc.want)
		}
	}
	if got, _ := Region("", env(t), ""); got != "us-east-1" {
		t.Errorf("no region anywhere: %q", got)
	}
	writeFile(t, home, "broken", "key = outside\n")
	if _, _, err := retrieve(t, Options{Getenv: getenv("AWS_CONFIG_FILE", filepath.Join(home, "broken"))}); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("malformed config: %v", err)
	}
}

// fakeSTS answers AssumeRoleWithWebIdentity with credentials that expire
// after ttl, recording the tokens it was sent.
func fakeSTS(t *testing.T, ttl time.Duration, now *time.Time, tokens *[]string) *httptest.Server {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.Form.Get("Action") != "AssumeRoleWithWebIdentity" || r.Form.Get("RoleArn") != "arn:aws:iam::123:role/cairn" || r.Header.Get("Authorization") != "" {
			w.WriteHeader(400)
			io.WriteString(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameterValue</Code><Message>bad request</Message></Error></ErrorResponse>`)
			return
		}
		*tokens = append(*tokens, r.Form.Get("WebIdentityToken"))
		if r.Form.Get("WebIdentityToken") == "expired-jwt" {
			w.WriteHeader(400)
			io.WriteString(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>Token expired</Message></Error></ErrorResponse>`)
			return
		}
		i := n.Add(1)
		fmt.Fprintf(w, `<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>
<AccessKeyId>ASIA%d</AccessKeyId><SecretAccessKey>secret%d</SecretAccessKey><SessionToken>session%d</SessionToken>
<Expiration>%s</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`, i, i, i, now.Add(ttl).UTC().Format(time.RFC3339))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// EKS IRSA: the projected token is exchanged at STS; the file is re-read at
// each refresh (the kubelet rotates it), and credentials are refreshed
// five minutes before they expire.
func TestWebIdentity(t *testing.T) {
	var tokens []string
	now := time.Now().Truncate(time.Second)
	sts := fakeSTS(t, 10*time.Minute, &now, &tokens)
	dir := t.TempDir()
	tokenFile := writeFile(t, dir, "token", "jwt-1\n")
	opts := Options{Region: "eu-west-1", Now: func() time.Time { return now }, Getenv: env(t,
		"AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile, "AWS_ROLE_ARN", "arn:aws:iam::123:role/cairn", "AWS_ENDPOINT_URL_STS", sts.URL)}
	p, src, err := Resolve(opts)
	if err != nil || !strings.Contains(src, "web identity") {
		t.Fatal(err, src)
	}
	c1, err := p.Retrieve(t.Context())
	if err != nil || c1.AccessKeyID != "ASIA1" || c1.SessionToken != "session1" || c1.Expires.IsZero() {
		t.Fatalf("%v %v", c1, err)
	}
	if c, _ := p.Retrieve(t.Context()); c.AccessKeyID != "ASIA1" || len(tokens) != 1 {
		t.Fatalf("not cached: %v, %d calls", c, len(tokens))
	}
	writeFile(t, dir, "token", "jwt-2")
	now = now.Add(6 * time.Minute) // 4 minutes left: refresh
	c2, err := p.Retrieve(t.Context())
	if err != nil || c2.AccessKeyID != "ASIA2" || strings.Join(tokens, ",") != "jwt-1,jwt-2" {
		t.Fatalf("refresh: %v %v, tokens %v", c2, err, tokens)
	}
	// A failed refresh while the old credentials still work keeps them.
	writeFile(t, dir, "token", "expired-jwt")
	now = now.Add(7 * time.Minute) // 3 minutes left: refresh fails
	if c, err := p.Retrieve(t.Context()); err != nil || c.AccessKeyID != "ASIA2" {
		t.Fatalf("failed refresh with valid credentials: %v %v", c, err)
	}
	now = now.Add(10 * time.Minute)
	_, err = p.Retrieve(t.Context())
	var e *Error
	if !errors.As(err, &e) || e.Transient || !strings.Contains(err.Error(), "InvalidIdentityToken") || strings.Contains(err.Error(), "expired-jwt") {
		t.Fatalf("expired: %v", err)
	}
	if _, _, err := Resolve(Options{Getenv: env(t, "AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile)}); err == nil || !strings.Contains(err.Error(), "AWS_ROLE_ARN") {
		t.Fatalf("no role: %v", err)
	}
	if got := stsEndpoint("", "eu-west-1"); got != "https://sts.eu-west-1.amazonaws.com" {
		t.Errorf("regional endpoint %s", got)
	}
}

// EKS Pod Identity and ECS: the container endpoint, with the authorization
// token from a file (re-read, it rotates) or the variable.
func TestContainer(t *testing.T) {
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		if r.Header.Get("Authorization") == "" {
			w.WriteHeader(401)
			io.WriteString(w, `{"code":"AccessDenied","message":"no token"}`)
			return
		}
		fmt.Fprintf(w, `{"AccessKeyId":"ASIAPOD","SecretAccessKey":"s","Token":"t","AccountId":"1","Expiration":%q}`, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	}))
	defer srv.Close()
	tokenFile := writeFile(t, t.TempDir(), "tok", "pod-token\n")
	c, src, err := retrieve(t, Options{Getenv: env(t, "AWS_CONTAINER_CREDENTIALS_FULL_URI", srv.URL+"/v1/credentials", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tokenFile)})
	if err != nil || c.AccessKeyID != "ASIAPOD" || src != "container endpoint" || auth[0] != "pod-token" {
		t.Fatalf("%v %v %s %v", c, err, src, auth)
	}
	_, _, err = retrieve(t, Options{Getenv: env(t, "AWS_CONTAINER_CREDENTIALS_FULL_URI", srv.URL)})
	if err == nil || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("refused: %v", err)
	}
	if _, _, err := Resolve(Options{Getenv: env(t, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://198.51.100.7/creds")}); err == nil || !strings.Contains(err.Error(), "plain http") {
		t.Fatalf("remote http: %v", err)
	}
	c2, err := newContainer(env(t, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc"), nil)
	if err != nil || c2.url != "http://169.254.170.2/v2/credentials/abc" {
		t.Fatalf("ECS relative URI: %v %v", c2, err)
	}
}

// EC2 instance metadata (IMDSv2): a token first, then the role's
// credentials; off EC2 it gives up within about a second.
func TestIMDS(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token" && r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds") != "":
			io.WriteString(w, "imds-token")
		case r.Header.Get("X-Aws-Ec2-Metadata-Token") != "imds-token":
			w.WriteHeader(401)
		case r.URL.Path == "/latest/meta-data/iam/security-credentials/":
			io.WriteString(w, "node-role\n")
		case r.URL.Path == "/latest/meta-data/iam/security-credentials/node-role":
			fmt.Fprintf(w, `{"Code":"Success","AccessKeyId":"ASIAEC2","SecretAccessKey":"s","Token":"t","Expiration":%q}`, time.Now().Add(6*time.Hour).UTC().Format(time.RFC3339))
		default:
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()
	c, src, err := retrieve(t, Options{Getenv: env(t, "AWS_EC2_METADATA_SERVICE_ENDPOINT", srv.URL)})
	if err != nil || c.AccessKeyID != "ASIAEC2" || src != "EC2 instance metadata" {
		t.Fatalf("%v %v %s", c, err, src)
	}
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	deadURL := dead.URL
	dead.Close()
	start := time.Now()
	_, _, err = retrieve(t, Options{Getenv: env(t, "AWS_EC2_METADATA_SERVICE_ENDPOINT", deadURL)})
	var e *Error
	if !errors.As(err, &e) || e.Transient || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") || time.Since(start) > 3*time.Second {
		t.Fatalf("off EC2: %v after %v", err, time.Since(start))
	}
	if _, _, err := Resolve(Options{Getenv: env(t, "AWS_EC2_METADATA_DISABLED", "true")}); err == nil || !strings.Contains(err.Error(), "AWS_EC2_METADATA_DISABLED") {
		t.Fatalf("disabled: %v", err)
	}
}

// countingProvider counts its calls and hands out credentials expiring
// after ttl (zero: never).
type countingProvider struct {
	n   int
	ttl time.Duration
	now *time.Time
}

func (c *countingProvider) Retrieve(context.Context) (Credentials, error) {
	c.n++
	cr := Credentials{AccessKeyID: fmt.Sprint("K", c.n), SecretAccessKey: "s"}
	if c.ttl > 0 {
		cr.Expires = c.now.Add(c.ttl)
	}
	return cr, nil
}

func TestCacheRefreshesBeforeExpiry(t *testing.T) {
	now := time.Unix(1e9, 0)
	p := &countingProvider{ttl: time.Hour, now: &now}
	c := NewCache(p, func() time.Time { return now })
	for _, step := range []struct {
		advance time.Duration
		want    string
	}{{0, "K1"}, {50 * time.Minute, "K1"}, {6 * time.Minute, "K2"}, {time.Minute, "K2"}} {
		now = now.Add(step.advance)
		got, err := c.Retrieve(t.Context())
		if err != nil || got.AccessKeyID != step.want {
			t.Fatalf("after +%v: %v %v, want %s", step.advance, got, err, step.want)
		}
	}
}
