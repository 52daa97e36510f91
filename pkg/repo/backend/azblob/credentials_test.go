package azblob

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// The string-to-sign follows Microsoft's rules for Shared Key (version
// 2009-09-19 and later): twelve lines (Content-Length empty when zero,
// Date empty as x-ms-date is sent), x-ms- headers lower-cased and sorted,
// then /account + the encoded path (the emulator's path repeats the
// account) and the query parameters sorted with decoded values.
func TestStringToSign(t *testing.T) {
	key := []byte("0123456789abcdef")
	sk, err := newSharedKey("acct", base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	sk.now = func() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) }
	req, _ := http.NewRequest(http.MethodPut, "http://127.0.0.1:10000/acct/box/dir/a%20b?comp=block&blockid=QQ%3D%3D", strings.NewReader("hello"))
	req.Header.Set("x-ms-version", APIVersion)
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("If-None-Match", "*")
	req.Header["x-ms-meta-Foo"] = []string{" bar "}
	if err := sk.authorize(req); err != nil {
		t.Fatal(err)
	}
	want := "PUT\n\n\n5\n\ntext/plain\n\n\n\n*\n\n\n" +
		"x-ms-date:Tue, 02 Jan 2024 03:04:05 GMT\nx-ms-meta-foo:bar\nx-ms-version:" + APIVersion + "\n" +
		"/acct/acct/box/dir/a%20b\nblockid:QQ==\ncomp:block"
	if got := stringToSign("acct", req); got != want {
		t.Errorf("string to sign:\n%q\nwant\n%q", got, want)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(want))
	if got, want := req.Header.Get("Authorization"), "SharedKey acct:"+base64.StdEncoding.EncodeToString(mac.Sum(nil)); got != want {
		t.Errorf("Authorization = %q, want %q", got, want)
	}
	get, _ := http.NewRequest(http.MethodGet, "https://acct.blob.core.windows.net/box?restype=container&comp=list&prefix=a+b", nil)
	get.Header.Set("x-ms-range", "bytes=0-9")
	if got, want := stringToSign("acct", get), "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-range:bytes=0-9\n/acct/box\ncomp:list\nprefix:a b\nrestype:container"; got != want {
		t.Errorf("string to sign:\n%q\nwant\n%q", got, want)
	}
	if _, err := newSharedKey("acct", "not base64!"); err == nil || strings.Contains(err.Error(), "not base64!") {
		t.Errorf("bad key: %v (must be an error without the key)", err)
	}
}

// mapEnv is an environment for the opener.
func mapEnv(m map[string]string) env { return func(k string) string { return m[k] } }

// storageEnv points the opener at the fake with path-style addressing.
func storageEnv(f *fakeBlob, extra map[string]string) env {
	m := map[string]string{
		"AZURE_STORAGE_ACCOUNT":  f.account,
		"AZURE_STORAGE_DOMAIN":   strings.TrimPrefix(f.srv.URL, "http://"),
		"AZURE_STORAGE_PROTOCOL": "http",
	}
	for k, v := range extra {
		m[k] = v
	}
	return mapEnv(m)
}

// openURL opens raw through the opener with env g.
func openURL(t *testing.T, o *URLOpener, g env, raw string) (*blob.Bucket, error) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	drv, err := o.open(g, u)
	if err != nil {
		return nil, err
	}
	return blob.NewBucket(drv), nil
}

// tokenServer is a fake token endpoint that checks each request and hands
// out numbered tokens valid for expiresIn (a JSON number or string).
func tokenServer(t *testing.T, check func(r *http.Request) error, expiresIn string) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if err := check(r); err != nil {
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"error":"invalid_request","error_description":%q}`, err.Error())
			return
		}
		fmt.Fprintf(w, `{"access_token":"tok%d","expires_in":%s,"token_type":"Bearer"}`, n.Add(1), expiresIn)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// bearerAuth accepts requests carrying one of the fake's tokens.
func bearerAuth(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Authorization"), "Bearer tok")
}

// AKS workload identity: the federated token file (re-read for each
// token, as the kubelet rotates it) is the client assertion.
func TestWorkloadIdentity(t *testing.T) {
	f := newFakeBlob(t)
	f.put("obj", []byte("data"))
	f.auth = bearerAuth
	file := filepath.Join(t.TempDir(), "token")
	os.WriteFile(file, []byte("jwt-1\n"), 0o600)
	var assertion atomic.Value
	authority, _ := tokenServer(t, func(r *http.Request) error {
		want := map[string]string{"grant_type": "client_credentials", "client_id": "app-id", "scope": StorageScope,
			"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
		for k, v := range want {
			if r.PostForm.Get(k) != v {
				return fmt.Errorf("%s = %q, want %q", k, r.PostForm.Get(k), v)
			}
		}
		if r.URL.Path != "/tenant-1/oauth2/v2.0/token" {
			return fmt.Errorf("path %s", r.URL.Path)
		}
		assertion.Store(r.PostForm.Get("client_assertion"))
		return nil
	}, "3600")
	g := storageEnv(f, map[string]string{"AZURE_FEDERATED_TOKEN_FILE": file, "AZURE_CLIENT_ID": "app-id",
		"AZURE_TENANT_ID": "tenant-1", "AZURE_AUTHORITY_HOST": authority.URL})
	b, err := openURL(t, &URLOpener{}, g, "azblob://box")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.ReadAll(context.Background(), "obj"); err != nil || string(got) != "data" {
		t.Fatalf("read with workload identity: %q %v", got, err)
	}
	if assertion.Load() != "jwt-1" {
		t.Errorf("client_assertion = %v, want the file's content", assertion.Load())
	}
	// A wrong tenant is refused by Entra ID: PermissionDenied, not retried.
	g = storageEnv(f, map[string]string{"AZURE_FEDERATED_TOKEN_FILE": file, "AZURE_CLIENT_ID": "app-id",
		"AZURE_TENANT_ID": "other", "AZURE_AUTHORITY_HOST": authority.URL})
	b, _ = openURL(t, &URLOpener{}, g, "azblob://box")
	if _, err := b.ReadAll(context.Background(), "obj"); gcerrors.Code(err) != gcerrors.PermissionDenied || !strings.Contains(err.Error(), "invalid_request") {
		t.Errorf("refused token request: %v, want PermissionDenied with the endpoint's reason", err)
	}
	g = storageEnv(f, map[string]string{"AZURE_FEDERATED_TOKEN_FILE": file, "AZURE_CLIENT_ID": "app-id", "AZURE_TENANT_ID": "../x"})
	if _, err := openURL(t, &URLOpener{}, g, "azblob://box"); err == nil || !strings.Contains(err.Error(), "AZURE_TENANT_ID") {
		t.Errorf("bad tenant: %v", err)
	}
}

// Managed identity: IMDS with the Metadata header, the storage resource
// and AZURE_CLIENT_ID selecting a user-assigned identity.
func TestManagedIdentity(t *testing.T) {
	f := newFakeBlob(t)
	f.put("obj", []byte("data"))
	f.auth = bearerAuth
	imds, n := tokenServer(t, func(r *http.Request) error {
		q := r.URL.Query()
		if r.Header.Get("Metadata") != "true" || q.Get("resource") != "https://storage.azure.com/" ||
			q.Get("client_id") != "uai" || q.Get("api-version") == "" {
			return fmt.Errorf("bad IMDS request %s %v", r.URL, r.Header)
		}
		return nil
	}, `"3599"`)
	o := &URLOpener{IMDSEndpoint: imds.URL + "/metadata/identity/oauth2/token"}
	b, err := openURL(t, o, storageEnv(f, map[string]string{"AZURE_CLIENT_ID": "uai"}), "azblob://box")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if got, err := b.ReadAll(context.Background(), "obj"); err != nil || string(got) != "data" {
			t.Fatalf("read with managed identity: %q %v", got, err)
		}
	}
	if n.Load() != 1 {
		t.Errorf("%d token requests for three reads, want 1 (cached)", n.Load())
	}
}

// Off Azure nothing answers at the metadata address: the error says which
// credentials to set, is PermissionDenied (not retried) and comes fast.
func TestManagedIdentityUnreachable(t *testing.T) {
	f := newFakeBlob(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	start := time.Now()
	b, err := openURL(t, &URLOpener{IMDSEndpoint: dead.URL}, storageEnv(f, nil), "azblob://box")
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.ReadAll(context.Background(), "obj")
	if gcerrors.Code(err) != gcerrors.PermissionDenied || !strings.Contains(err.Error(), "AZURE_STORAGE_KEY") || time.Since(start) > 5*time.Second {
		t.Errorf("no credentials: %v after %v", err, time.Since(start))
	}
}

// countingSource hands out tokens valid for a minute past refreshBefore.
type countingSource struct {
	n    int
	now  *time.Time
	fail bool
}

func (c *countingSource) fetch(context.Context) (accessToken, error) {
	if c.fail {
		return accessToken{}, errors.New("endpoint down")
	}
	c.n++
	return accessToken{value: fmt.Sprintf("t%d", c.n), expires: c.now.Add(refreshBefore + time.Minute)}, nil
}

// Tokens are reused until refreshBefore their expiry, then replaced; a
// failed refresh falls back to the old token while it is still valid.
func TestTokenRefresh(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	src := &countingSource{now: &now}
	c := &tokenCache{src: src, now: func() time.Time { return now }}
	ctx := context.Background()
	step := func(d time.Duration, want string) {
		t.Helper()
		now = now.Add(d)
		if got, err := c.token(ctx); got != want || err != nil {
			t.Errorf("after %v: %q %v, want %q", d, got, err, want)
		}
	}
	step(0, "t1")
	step(30*time.Second, "t1")
	step(31*time.Second, "t2") // within refreshBefore of t1's expiry
	src.fail = true
	step(2*time.Minute, "t2") // refresh fails, t2 still valid
	now = now.Add(refreshBefore)
	if _, err := c.token(ctx); err == nil {
		t.Error("expired token handed out after a failed refresh")
	}
}

// Token endpoint answers are checked: no token, a silly lifetime or an
// error document are errors; secrets in descriptions are removed.
func TestDecodeToken(t *testing.T) {
	now := time.Now()
	if tok, err := decodeToken("x", 200, []byte(`{"access_token":"a","expires_in":"60"}`), now); err != nil || tok.value != "a" || !tok.expires.Equal(now.Add(time.Minute)) {
		t.Errorf("string expires_in: %+v %v", tok, err)
	}
	for _, body := range []string{`{"expires_in":60}`, `{"access_token":"a","expires_in":-1}`, `{"access_token":"a"}`, `nope`} {
		if _, err := decodeToken("x", 200, []byte(body), now); err == nil {
			t.Errorf("%s accepted", body)
		}
	}
	_, err := decodeToken("x", 401, []byte(`{"error":"invalid_client","error_description":"AADSTS: assertion eyJhbGciOiJSUzI1NiJ9.e30.sig rejected"}`), now)
	var e *Error
	if !errors.As(err, &e) || e.Status != 401 || strings.Contains(err.Error(), "eyJhbGci") {
		t.Errorf("refusal: %v", err)
	}
	if _, err := decodeToken("x", 503, []byte(`busy`), now); !errors.As(err, &e) || e.Status != 503 {
		t.Errorf("503 from the token endpoint must stay retryable: %v", err)
	}
}

// A SAS token goes on every request's query, never into a message, and
// a URL may not send it to another endpoint.
func TestSASToken(t *testing.T) {
	f := newFakeBlob(t)
	f.put("obj", []byte("data"))
	f.auth = func(r *http.Request) bool {
		return r.URL.Query().Get("sig") == "c2VjcmV0=" && r.Header.Get("Authorization") == ""
	}
	g := storageEnv(f, map[string]string{"AZURE_STORAGE_SAS_TOKEN": "?sv=2022-11-02&sp=rwdl&sig=c2VjcmV0%3D"})
	b, err := openURL(t, &URLOpener{}, g, "azblob://box")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.ReadAll(context.Background(), "obj"); err != nil || string(got) != "data" {
		t.Fatalf("read with SAS: %q %v", got, err)
	}
	if err := b.Copy(context.Background(), "copy", "obj", nil); err != nil {
		t.Errorf("copy with SAS: %v", err)
	}
	if src := f.seen()[len(f.seen())-1].Header.Get("x-ms-copy-source"); !strings.Contains(src, "sig=") {
		t.Errorf("copy source %q does not carry the SAS that authorizes reading it", src)
	}
	f.auth = func(*http.Request) bool { return false }
	if _, err := b.ReadAll(context.Background(), "obj"); err == nil || strings.Contains(err.Error(), "c2VjcmV0") {
		t.Errorf("refused SAS: %v", err)
	}
	if _, err := openURL(t, &URLOpener{}, g, "azblob://box?domain=evil.example"); err == nil || !strings.Contains(err.Error(), "cannot change the service endpoint") {
		t.Errorf("SAS sent elsewhere: %v", err)
	}
	if _, err := openURL(t, &URLOpener{}, mapEnv(map[string]string{"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_SAS_TOKEN": "sv=1&sig=x", "AZURE_STORAGE_DOMAIN": "example.com", "AZURE_STORAGE_PROTOCOL": "http"}), "azblob://box"); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("SAS over plain http: %v", err)
	}
	if _, err := newSASToken("sv=2022&sp=r"); err == nil {
		t.Error("SAS without a signature accepted")
	}
}

// Connection strings in their usual forms; errors never quote a value.
func TestConnectionString(t *testing.T) {
	key := base64.StdEncoding.EncodeToString([]byte("k=="))
	c, err := parseConnString("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" + key + ";EndpointSuffix=core.chinacloudapi.cn")
	if err != nil || c.account != "acct" || c.key != key || c.suffix != "core.chinacloudapi.cn" || c.protocol != "https" {
		t.Errorf("account key form: %+v %v", c, err)
	}
	c, err = parseConnString("BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2022&sig=abc%3D")
	if err != nil || c.blobEndpoint != "https://acct.blob.core.windows.net" || c.sas != "sv=2022&sig=abc%3D" {
		t.Errorf("SAS form: %+v %v", c, err)
	}
	if c, err = parseConnString("UseDevelopmentStorage=true"); err != nil || c.account != devStorageAccount {
		t.Errorf("development storage: %+v %v", c, err)
	}
	for _, bad := range []string{"AccountName=a", "AccountKey=secretvalue", "Bogus=secretvalue;AccountKey=x;AccountName=a", "novalue", "DefaultEndpointsProtocol=ftp;AccountKey=x;AccountName=a"} {
		if _, err := parseConnString(bad); err == nil || strings.Contains(err.Error(), "secretvalue") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	f := newFakeBlob(t)
	f.put("obj", []byte("data"))
	g := mapEnv(map[string]string{"AZURE_STORAGE_CONNECTION_STRING": "DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=" + key + ";BlobEndpoint=" + f.srv.URL + "/acct"})
	b, err := openURL(t, &URLOpener{}, g, "azblob://box")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.ReadAll(context.Background(), "obj"); err != nil || string(got) != "data" {
		t.Errorf("read through a connection string: %q %v", got, err)
	}
}

// Addressing: account subdomains, the emulator's path style, and URL
// parameters checked against the accepted set.
func TestServiceURL(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		url  string
		want string
	}{
		{map[string]string{"AZURE_STORAGE_ACCOUNT": "acct"}, "azblob://box", "https://acct.blob.core.windows.net"},
		{map[string]string{"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_DOMAIN": "blob.core.usgovcloudapi.net"}, "azblob://box", "https://acct.blob.core.usgovcloudapi.net"},
		{map[string]string{"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_IS_LOCAL_EMULATOR": "true", "AZURE_STORAGE_DOMAIN": "azurite:10000", "AZURE_STORAGE_PROTOCOL": "http"}, "azblob://box", "http://azurite:10000/acct"},
		{map[string]string{"AZURE_STORAGE_ACCOUNT": "acct"}, "azblob://box?domain=localhost:10000&protocol=http&storage_account=other", "http://localhost:10000/other"},
	} {
		g := mapEnv(tc.env)
		tc.env["AZURE_STORAGE_KEY"] = base64.StdEncoding.EncodeToString([]byte("k"))
		u, _ := url.Parse(tc.url)
		b, err := (&URLOpener{}).open(g, u)
		if err != nil || b.service != tc.want {
			t.Errorf("%v %s: %v, want %s", tc.env, tc.url, err, tc.want)
			continue
		}
	}
	key := map[string]string{"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_KEY": "a2V5"}
	for raw, want := range map[string]string{
		"azblob://box?region=x":            "domain, localemu, protocol and storage_account",
		"azblob://box?cdn=true":            "CDN",
		"azblob://box?localemu=maybe":      "true or false",
		"azblob://box?protocol=ftp":        "http or https",
		"azblob://box?storage_account=A_B": "3-24 lower-case",
		"azblob://Bad_Name":                "invalid container name",
	} {
		if _, err := openURL(t, &URLOpener{}, mapEnv(key), raw); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error saying %q", raw, err, want)
		}
	}
	if _, err := openURL(t, &URLOpener{}, mapEnv(map[string]string{"AZURE_CLIENT_ID": "x"}), "azblob://box"); err == nil || !strings.Contains(err.Error(), "storage_account") {
		t.Errorf("no account: %v", err)
	}
}
