package backend_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/test/objstore"
)

// Malformed explicit credentials are refused before any request, as
// ErrInvalid, and neither the error nor %v of the options shows a secret.
func TestCredentialsChecked(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		url   string
		creds backend.Credentials
	}{
		{"s3://bucket", backend.Credentials{AWSAccessKeyID: "AKIA"}},
		{"s3://bucket", backend.Credentials{AWSAccessKeyID: "AKIA", AWSSecretAccessKey: "s3cr3t", AzureAccountKey: "k"}},
		{"gs://bucket", backend.Credentials{}},
		{"gs://bucket", backend.Credentials{GoogleServiceAccountJSON: []byte(`{"type":"service_account","private_key":"s3cr3t"}`)}},
		{"azblob://bucket", backend.Credentials{AzureAccountName: "acct"}},
		{"azblob://bucket", backend.Credentials{AzureAccountName: "acct", AzureAccountKey: "s3cr3t", AzureSASToken: "sv=x"}},
		{"mem://", backend.Credentials{AWSAccessKeyID: "AKIA", AWSSecretAccessKey: "s3cr3t"}},
		{"s3://bucket?anonymous=true", backend.Credentials{AWSAccessKeyID: "AKIA", AWSSecretAccessKey: "s3cr3t"}},
		{"gs://bucket?anonymous=true", backend.Credentials{GoogleServiceAccountJSON: []byte(`{"type":"service_account","private_key":"s3cr3t"}`)}},
	} {
		c := tc.creds
		_, err := backend.Open(ctx, tc.url, backend.Options{Credentials: &c})
		if !errors.Is(err, backend.ErrInvalid) {
			t.Errorf("%s with %s: %v, want ErrInvalid", tc.url, &c, err)
		} else if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: error leaks a secret: %v", tc.url, err)
		}
		if s := fmt.Sprintf("%v %+v %#v", backend.Options{Credentials: &c}, backend.Options{Credentials: &c}, &c); strings.Contains(s, "s3cr3t") {
			t.Errorf("printing options leaks a secret: %s", s)
		}
	}
}

// Explicit AWS credentials are used instead of the environment's (which
// here are wrong); wrong explicit ones fail at once with ErrPermission and
// MinIO's error code, without the secret.
func TestS3ExplicitCredentials(t *testing.T) {
	ctx := context.Background()
	srv := startStore(t, objstore.StartMinIO)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "environment-secret")
	creds := &backend.Credentials{AWSAccessKeyID: srv.AccessKey, AWSSecretAccessKey: srv.SecretKey}
	be, err := backend.Open(ctx, s3URL(srv, "cairn"), backend.Options{Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	if err := be.Put(ctx, "explicit", []byte("x")); err != nil {
		t.Fatal(err)
	}
	one := backend.RetryPolicy{Attempts: 1}
	for code, c := range map[string]*backend.Credentials{
		"SignatureDoesNotMatch": {AWSAccessKeyID: srv.AccessKey, AWSSecretAccessKey: "wrong-secret-key"},
		"InvalidAccessKeyId":    {AWSAccessKeyID: "AKIANOSUCHKEY", AWSSecretAccessKey: "wrong-secret-key"},
	} {
		_, err := backend.Open(ctx, s3URL(srv, "cairn"), backend.Options{Credentials: c, Retry: one})
		t.Logf("%s: %v", code, err)
		if !errors.Is(err, backend.ErrPermission) || !strings.Contains(err.Error(), code) {
			t.Errorf("%s: %v, want ErrPermission naming %s", c.AWSAccessKeyID, err, code)
		} else if strings.Contains(err.Error(), "wrong-secret-key") || strings.Contains(err.Error(), "Signature=") {
			t.Errorf("error leaks the secret or the signature: %v", err)
		}
	}
}

// Explicit Azure credentials are used instead of the environment's; the
// URL addresses Azurite; a wrong key fails with ErrPermission and the
// service's error code, without the key.
func TestAzureExplicitCredentials(t *testing.T) {
	ctx := context.Background()
	srv := startStore(t, objstore.StartAzurite)
	t.Setenv("AZURE_STORAGE_ACCOUNT", "environmentaccount")
	t.Setenv("AZURE_STORAGE_KEY", base64.StdEncoding.EncodeToString([]byte("environment-key")))
	host := strings.TrimPrefix(srv.Endpoint, "http://")
	host = host[:strings.Index(host, "/")]
	u := "azblob://cairn/repo?domain=" + host + "&protocol=http&localemu=true"
	be, err := backend.Open(ctx, u, backend.Options{Credentials: &backend.Credentials{AzureAccountName: srv.AccessKey, AzureAccountKey: srv.SecretKey}})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	if err := be.Put(ctx, "explicit", []byte("x")); err != nil {
		t.Fatal(err)
	}
	wrong := base64.StdEncoding.EncodeToString([]byte("wrong-account-key-wrong-account-key"))
	_, err = backend.Open(ctx, u, backend.Options{Credentials: &backend.Credentials{AzureAccountName: srv.AccessKey, AzureAccountKey: wrong}, Retry: backend.RetryPolicy{Attempts: 1}})
	t.Logf("wrong key: %v", err)
	if !errors.Is(err, backend.ErrPermission) || !strings.Contains(err.Error(), "AuthorizationFailure") && !strings.Contains(err.Error(), "AuthenticationFailed") {
		t.Errorf("wrong key: %v, want ErrPermission naming the service's code", err)
	} else if strings.Contains(err.Error(), wrong) {
		t.Error("error message leaks the key")
	}
}

// Explicit Google credentials are used: the service account key is
// exchanged for a token at the key's token_uri (a stand-in here), and the
// token reaches the store (fake-gcs-server, behind a proxy that records
// it). A key the token service refuses fails with ErrPermission and the
// OAuth error code, without the key.
func TestGCSExplicitCredentials(t *testing.T) {
	ctx := context.Background()
	srv := startStore(t, objstore.StartFakeGCS)
	var refuse atomic.Bool
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if refuse.Load() || r.FormValue("assertion") == "" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`)
			return
		}
		fmt.Fprint(w, `{"access_token":"explicit-token","token_type":"Bearer","expires_in":3600}`)
	}))
	defer tokens.Close()
	target, _ := url.Parse(srv.Endpoint)
	var bearer atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer explicit-token" {
			bearer.Add(1)
		}
		httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
	}))
	defer proxy.Close()
	t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(proxy.URL, "http://"))
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/environment-key.json")

	key := serviceAccountKey(t, tokens.URL)
	be, err := backend.Open(ctx, "gs://cairn/repo", backend.Options{Credentials: &backend.Credentials{GoogleServiceAccountJSON: key}})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	if err := be.Put(ctx, "explicit", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if bearer.Load() == 0 {
		t.Fatal("no request carried the token the explicit key was exchanged for")
	}
	refuse.Store(true)
	_, err = backend.Open(ctx, "gs://cairn/repo", backend.Options{Credentials: &backend.Credentials{GoogleServiceAccountJSON: key}, Retry: backend.RetryPolicy{Attempts: 1}})
	t.Logf("refused key: %v", err)
	if !errors.Is(err, backend.ErrPermission) || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("refused key: %v, want ErrPermission naming invalid_grant", err)
	} else if strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Error("error message leaks the key")
	}
}

// serviceAccountKey makes a service account key file whose tokens come
// from tokenURI.
func serviceAccountKey(t *testing.T, tokenURI string) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	key, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "cairn", "private_key_id": "k1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "cairn@cairn.iam.gserviceaccount.com", "client_id": "1", "token_uri": tokenURI,
	})
	return key
}
