package gcs

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"gocloud.dev/blob"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// Scheme is the URL scheme the package registers with blob.DefaultURLMux.
const Scheme = "gs"

// EmulatorEnv names the variable that points the driver at an emulator
// (fake-gcs-server), the same one Google's client libraries read. Its value
// is host:port or a URL; requests then carry no credentials.
const EmulatorEnv = "STORAGE_EMULATOR_HOST"

// Scope is the OAuth scope requested for application-default credentials:
// reading, writing and deleting objects, nothing else.
const Scope = "https://www.googleapis.com/auth/devstorage.read_write"

func init() {
	blob.DefaultURLMux().RegisterBucket(Scheme, new(URLOpener))
}

// URLOpener opens gs://bucket URLs. The only query parameter is
// anonymous=true, which sends requests without credentials (public buckets).
type URLOpener struct {
	// Client, if set, sends every request and must add credentials itself.
	Client *http.Client
}

// unsupportedParams are the gcsblob parameters this driver does not take,
// with what to do instead.
var unsupportedParams = map[string]string{
	"access_id":        "it only served signed URLs, which cairn does not use; remove it",
	"private_key_path": "it only served signed URLs, which cairn does not use; remove it",
	"grpc":             "cairn talks to the JSON API only; remove it",
	"zonal":            "zonal (Rapid Storage) buckets need the gRPC API, which cairn does not use",
	"universe_domain":  "only the googleapis.com universe is supported",
}

// OpenBucketURL implements blob.BucketURLOpener.
func (o *URLOpener) OpenBucketURL(ctx context.Context, u *url.URL) (*blob.Bucket, error) {
	anonymous, err := parseQuery(u.Query())
	if err != nil {
		return nil, fmt.Errorf("open gs://%s: %w", u.Host, err)
	}
	drv, err := openBucket(ctx, u.Host, Options{Client: o.Client}, anonymous)
	if err != nil {
		return nil, fmt.Errorf("open gs://%s: %w", u.Host, err)
	}
	return blob.NewBucket(drv), nil
}

// parseQuery checks the URL's query parameters and returns anonymous.
func parseQuery(q url.Values) (anonymous bool, err error) {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "anonymous" {
			continue
		}
		if why, ok := unsupportedParams[k]; ok {
			return false, fmt.Errorf("query parameter %q is not supported: %s: %w", k, why, errInvalid)
		}
		return false, fmt.Errorf("unknown query parameter %q: gs:// URLs take only anonymous=true: %w", k, errInvalid)
	}
	if v := q.Get("anonymous"); v != "" {
		anonymous, err = strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("query parameter anonymous=%q: want true or false: %w", v, errInvalid)
		}
	}
	return anonymous, nil
}

// defaultClient makes the client used when the caller gave none: without
// credentials for an emulator or an anonymous URL, else with Google's
// application-default credentials.
func defaultClient(ctx context.Context, anonymous bool) (*http.Client, error) {
	base := newTransport()
	if anonymous {
		return &http.Client{Transport: base}, nil
	}
	// Token refreshes outlive the call that opened the bucket.
	ctx = context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, &http.Client{Transport: base})
	creds, err := google.FindDefaultCredentials(ctx, Scope)
	if err != nil {
		return nil, fmt.Errorf("no Google credentials found (%v): set GOOGLE_APPLICATION_CREDENTIALS to a service-account or workload-identity-federation key file, run `gcloud auth application-default login`, or run on GCE/GKE with a service account; for a public bucket add ?anonymous=true", err)
	}
	src := oauth2.ReuseTokenSource(nil, creds.TokenSource)
	return &http.Client{Transport: &oauth2.Transport{Source: src, Base: base}}, nil
}

// ClientFromJSON makes a client that authorizes with the given service
// account (or external account) key file content instead of the
// application-default credentials.
func ClientFromJSON(ctx context.Context, key []byte) (*http.Client, error) {
	if err := checkServiceAccountKey(key); err != nil {
		return nil, err
	}
	base := newTransport()
	ctx = context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, &http.Client{Transport: base})
	creds, err := google.CredentialsFromJSONWithType(ctx, key, google.ServiceAccount, Scope)
	if err != nil {
		// The parser's message may quote the key: name only the cause.
		return nil, fmt.Errorf("gcs: the service account JSON key cannot be used (not a service account key file): %w", errInvalid)
	}
	return &http.Client{Transport: &oauth2.Transport{Source: oauth2.ReuseTokenSource(nil, creds.TokenSource), Base: base}}, nil
}

// checkServiceAccountKey parses the key file's private key now: the OAuth
// library would only find it broken at the first request, which is then
// retried as if the service were down. Errors never quote the key.
func checkServiceAccountKey(key []byte) error {
	var f struct {
		Type       string `json:"type"`
		PrivateKey string `json:"private_key"`
	}
	if json.Unmarshal(key, &f) != nil || f.Type != "service_account" {
		return fmt.Errorf("gcs: the credentials are not a service account JSON key file: %w", errInvalid)
	}
	block, _ := pem.Decode([]byte(f.PrivateKey))
	if block == nil {
		return fmt.Errorf("gcs: the service account key's private_key is not PEM: %w", errInvalid)
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
			return fmt.Errorf("gcs: the service account key's private_key is not a PKCS #8 or PKCS #1 key: %w", errInvalid)
		}
	}
	return nil
}

// emulatorEndpoint turns STORAGE_EMULATOR_HOST (host:port or a URL) into
// an endpoint root.
func emulatorEndpoint(host string) (string, error) {
	raw := host
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s=%q: want host:port or http(s)://host:port: %w", EmulatorEnv, host, errInvalid)
	}
	return u.Scheme + "://" + u.Host, nil
}

// newTransport is http.DefaultTransport with more idle connections per
// host (all traffic goes to one host, from several uploads and downloads at
// once) and a bound on waiting for an answer's headers.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 16
	t.ResponseHeaderTimeout = 2 * time.Minute
	return t
}
