// Package gcs opens gs:// URLs through gocloud.dev/blob/gcsblob and
// Google's storage client, with credentials from Google's
// application-default chain (GOOGLE_APPLICATION_CREDENTIALS with a
// service account or workload identity federation file, gcloud's
// application-default login, the GCE/GKE metadata server) or from an
// explicit service account key. STORAGE_EMULATOR_HOST points it at an
// emulator, as it does Google's own libraries.
//
// The storage client does not retry: the backend retries every store
// the same way.
package gcs

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"

	"cloud.google.com/go/storage"
	"gocloud.dev/blob"
	"gocloud.dev/blob/gcsblob"
	"gocloud.dev/gcp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/option"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/directupload"
	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/errs"
	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/httppool"
)

// Scheme is the URL scheme this package opens.
const Scheme = "gs"

// EmulatorEnv names the variable that points the client at an emulator
// (fake-gcs-server); requests then carry no credentials unless explicit
// ones are given.
const EmulatorEnv = "STORAGE_EMULATOR_HOST"

// Scope is the OAuth scope asked for: reading, writing and deleting
// objects, nothing else.
const Scope = "https://www.googleapis.com/auth/devstorage.read_write"

// Config is what a gs:// URL and the caller say.
type Config struct {
	// Anonymous sends requests without credentials (public buckets).
	Anonymous bool
	// ServiceAccountJSON, when set, is a service account key file's
	// content used instead of the application-default credentials.
	ServiceAccountJSON []byte
	// Emulator is an emulator's host:port or URL (tools and tests that
	// start one); empty means STORAGE_EMULATOR_HOST. With an emulator,
	// requests carry credentials only if ServiceAccountJSON is set.
	Emulator string
}

// unsupported are gcsblob's URL parameters that cairn refuses, with why.
var unsupported = map[string]string{
	"access_id":        "it only served signed URLs, which cairn does not use; remove it",
	"private_key_path": "it only served signed URLs, which cairn does not use; remove it",
	"grpc":             "cairn talks to the JSON API only; remove it",
	"zonal":            "zonal (Rapid Storage) buckets need the gRPC API, which cairn does not use",
	"universe_domain":  "only the googleapis.com universe is supported",
}

// ParseQuery reads a gs:// URL's query parameters: only anonymous=true.
func ParseQuery(q url.Values) (Config, error) {
	var c Config
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "anonymous" {
			continue
		}
		if why, ok := unsupported[k]; ok {
			return c, fmt.Errorf("query parameter %q is not supported: %s: %w", k, why, errs.ErrInvalid)
		}
		return c, fmt.Errorf("unknown query parameter %q: gs:// URLs take only anonymous=true: %w", k, errs.ErrInvalid)
	}
	if v := q.Get("anonymous"); v != "" {
		var err error
		if c.Anonymous, err = strconv.ParseBool(v); err != nil {
			return c, fmt.Errorf("query parameter anonymous=%q: want true or false: %w", v, errs.ErrInvalid)
		}
	}
	return c, nil
}

// clientOptions are the storage client's options for c. Default
// credentials are looked up here (a missing one is reported now); tokens
// are fetched at the first request.
func clientOptions(ctx context.Context, c Config) ([]option.ClientOption, error) {
	hc, err := httpClient(ctx, c)
	if err != nil {
		return nil, err
	}
	// The client authorizes its own requests (hc), so the storage library
	// must not look for credentials itself.
	opts := []option.ClientOption{option.WithHTTPClient(hc), option.WithoutAuthentication()}
	if c.Emulator != "" {
		u := c.Emulator
		if !strings.Contains(u, "://") {
			u = "http://" + u
		}
		opts = append(opts, option.WithEndpoint(strings.TrimRight(u, "/")+"/storage/v1/"))
	}
	return opts, nil
}

// httpClient is the client that sends every request, with a token source
// unless the bucket is public or an emulator is used without explicit
// credentials.
func httpClient(ctx context.Context, c Config) (*http.Client, error) {
	t := httppool.Transport()
	// Token refreshes outlive the call that opened the bucket.
	ctx = context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, &http.Client{Transport: t})
	var creds *google.Credentials
	switch {
	case c.Anonymous && c.ServiceAccountJSON != nil:
		return nil, fmt.Errorf("gcs: anonymous=true and explicit credentials contradict each other: %w", errs.ErrInvalid)
	case c.ServiceAccountJSON != nil:
		if err := checkServiceAccountKey(c.ServiceAccountJSON); err != nil {
			return nil, err
		}
		var err error
		if creds, err = google.CredentialsFromJSONWithType(ctx, c.ServiceAccountJSON, google.ServiceAccount, Scope); err != nil {
			// The parser's message may quote the key: name only the cause.
			return nil, fmt.Errorf("gcs: the service account JSON key cannot be used: %w", errs.ErrInvalid)
		}
	case c.Anonymous || c.Emulator != "" || os.Getenv(EmulatorEnv) != "":
		return &http.Client{Transport: t}, nil
	default:
		var err error
		if creds, err = google.FindDefaultCredentials(ctx, Scope); err != nil {
			return nil, fmt.Errorf("gcs: %w: %v (GOOGLE_APPLICATION_CREDENTIALS, gcloud application-default login and the metadata server were tried; ?anonymous=true reads a public bucket)", errs.ErrNoCredentials, err)
		}
	}
	return &http.Client{Transport: &oauth2.Transport{Source: oauth2.ReuseTokenSource(nil, creds.TokenSource), Base: t}}, nil
}

// checkServiceAccountKey parses the key file's private key now: the OAuth
// library would only find it broken at the first request. Errors never
// quote the key.
func checkServiceAccountKey(key []byte) error {
	var f struct {
		Type       string `json:"type"`
		PrivateKey string `json:"private_key"`
	}
	if json.Unmarshal(key, &f) != nil || f.Type != "service_account" {
		return fmt.Errorf("gcs: the credentials are not a service account JSON key file: %w", errs.ErrInvalid)
	}
	block, _ := pem.Decode([]byte(f.PrivateKey))
	if block == nil {
		return fmt.Errorf("gcs: the service account key's private_key is not PEM: %w", errs.ErrInvalid)
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
			return fmt.Errorf("gcs: the service account key's private_key is not a PKCS #8 or PKCS #1 key: %w", errs.ErrInvalid)
		}
	}
	return nil
}

// Open opens bucket through gcsblob and returns with it a direct upload
// that sends a caller's slice in one request. It contacts nothing but a
// credential source. The bucket owns its storage client: closing it
// closes the client.
func Open(ctx context.Context, bucket string, c Config) (*blob.Bucket, directupload.Func, error) {
	opts, err := clientOptions(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	// gcsblob makes the client from its own options and then these, which
	// replace its HTTP client (and, with STORAGE_EMULATOR_HOST, its
	// unauthenticated one).
	b, err := gcsblob.OpenBucket(ctx, &gcp.HTTPClient{}, bucket, &gcsblob.Options{ClientOptions: opts})
	if err != nil {
		return nil, nil, fmt.Errorf("gcs: %w", err)
	}
	var client *storage.Client
	if !b.As(&client) {
		b.Close()
		return nil, nil, fmt.Errorf("gcs: gcsblob does not expose its storage client")
	}
	client.SetRetry(storage.WithPolicy(storage.RetryNever))
	put := func(ctx context.Context, key string, data []byte) error {
		w := client.Bucket(bucket).Object(key).If(storage.Conditions{DoesNotExist: true}).NewWriter(ctx)
		w.ChunkSize = 0 // one request, streamed from data: no chunk buffer
		w.ContentType = "application/octet-stream"
		if _, err := w.Write(data); err != nil {
			_ = w.CloseWithError(err)
			return err
		}
		return w.Close()
	}
	return b, put, nil
}
