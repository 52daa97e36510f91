package s3

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo/backend/s3/awscred"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// Every S3 answer maps to the code backend.classify and the retry layer
// act on, with a message that says what to do.
func TestErrorMapping(t *testing.T) {
	f, b := openFake(t)
	for _, tc := range []struct {
		status     int
		code, body string
		header     string // X-Amz-Bucket-Region
		want       gcerrors.ErrorCode
		says       string
	}{
		{404, "NoSuchKey", "", "", gcerrors.NotFound, "object not found"},
		{404, "NoSuchBucket", "", "", gcerrors.NotFound, "bucket does not exist"},
		{403, "AccessDenied", "", "", gcerrors.PermissionDenied, "IAM policy"},
		{403, "InvalidAccessKeyId", "", "", gcerrors.PermissionDenied, "AWS_ACCESS_KEY_ID"},
		{403, "SignatureDoesNotMatch", "", "", gcerrors.PermissionDenied, "secret access key is wrong"},
		{400, "ExpiredToken", "", "", gcerrors.PermissionDenied, "session token has expired"},
		{403, "RequestTimeTooSkewed", "", "", gcerrors.InvalidArgument, "clock"},
		{503, "SlowDown", "", "", gcerrors.ResourceExhausted, "slow down"},
		{500, "InternalError", "", "", gcerrors.Internal, "Internal"},
		{503, "ServiceUnavailable", "", "", gcerrors.ResourceExhausted, "ServiceUnavailable"},
		{400, "RequestTimeout", "", "", gcerrors.DeadlineExceeded, "timed out"},
		{409, "ConditionalRequestConflict", "", "", gcerrors.Internal, "concurrent write"},
		{412, "PreconditionFailed", "", "", gcerrors.FailedPrecondition, "already exists"},
		{400, "AuthorizationHeaderMalformed", "<Region>eu-central-1</Region>", "", gcerrors.InvalidArgument, "?region=eu-central-1"},
		{301, "PermanentRedirect", "<Endpoint>cairn-test.s3.ap-south-1.amazonaws.com</Endpoint>", "", gcerrors.InvalidArgument, "?region=ap-south-1"},
		{301, "", "", "eu-west-3", gcerrors.InvalidArgument, "?region=eu-west-3"},
		{502, "", "", "", gcerrors.Internal, "Bad Gateway"},
		{429, "", "", "", gcerrors.ResourceExhausted, "Too Many Requests"},
		{400, "InvalidArgument", "", "", gcerrors.InvalidArgument, "Bad Request"},
	} {
		f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
			if tc.header != "" {
				w.Header().Set("X-Amz-Bucket-Region", tc.header)
				w.Header().Set("Location", "https://elsewhere.example/")
			}
			w.WriteHeader(tc.status)
			if tc.code != "" {
				fmt.Fprintf(w, "<Error><Code>%s</Code><Message>msg</Message>%s</Error>", tc.code, tc.body)
			}
			return true
		})
		_, err := b.ReadAll(t.Context(), "k")
		if gcerrors.Code(err) != tc.want || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("HTTP %d %s: %v (code %v), want %v saying %q", tc.status, tc.code, err, gcerrors.Code(err), tc.want, tc.says)
		}
	}
	// A missing bucket is recognisable from a listing, a HEAD without body
	// is a missing key.
	f.setHook(nil)
	nb := blob.NewBucket(mustOpen(t, f, "no-such-bucket"))
	defer nb.Close()
	if _, _, err := nb.ListPage(t.Context(), blob.FirstPageToken, 1, nil); gcerrors.Code(err) != gcerrors.NotFound || !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Errorf("listing a missing bucket: %v", err)
	}
}

func mustOpen(t *testing.T, f *fakeS3, name string) *bucket {
	t.Helper()
	drv, err := openBucket(t.Context(), name, f.options())
	if err != nil {
		t.Fatal(err)
	}
	return drv
}

// A redirect (the bucket lives in another region) is reported, never
// followed with a signature made for this region.
func TestRedirectNotFollowed(t *testing.T) {
	var elsewhere int
	f, _ := openFake(t)
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/elsewhere" {
			elsewhere++
			return true
		}
		w.Header().Set("Location", "/elsewhere")
		w.Header().Set("X-Amz-Bucket-Region", "sa-east-1")
		w.WriteHeader(http.StatusTemporaryRedirect)
		return true
	})
	o := f.options()
	o.Client = &http.Client{} // no CheckRedirect: the driver must add its own
	drv, err := openBucket(t.Context(), f.bucket, o)
	if err != nil {
		t.Fatal(err)
	}
	b := blob.NewBucket(drv)
	defer b.Close()
	_, err = b.ReadAll(t.Context(), "k")
	if err == nil || !strings.Contains(err.Error(), "?region=sa-east-1") || elsewhere != 0 {
		t.Fatalf("redirect: %v (followed %d times)", err, elsewhere)
	}
	if n := len(f.requestLog()); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}

// Virtual-hosted style is the default; path style on request, for
// buckets whose name cannot be a host label, and for endpoints.
func TestAddressing(t *testing.T) {
	for _, tc := range []struct {
		name, endpoint string
		pathStyle      bool
		key, want      string
	}{
		{"bkt", "", false, "dir/a b+c", "https://bkt.s3.eu-west-1.amazonaws.com/dir/a%20b%2Bc"},
		{"bkt", "", true, "k", "https://s3.eu-west-1.amazonaws.com/bkt/k"},
		{"my.bkt", "", false, "k", "https://s3.eu-west-1.amazonaws.com/my.bkt/k"},
		{"bkt", "http://127.0.0.1:9000", true, "up/../x", "http://127.0.0.1:9000/bkt/up/..__0x2f__x"},
		{"bkt", "https://minio.example/base/", false, "k", "https://bkt.minio.example/base/k"},
	} {
		drv, err := openBucket(t.Context(), tc.name, Options{Region: "eu-west-1", Endpoint: tc.endpoint, UsePathStyle: tc.pathStyle, Anonymous: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := drv.objectURL(tc.key, nil).String(); got != tc.want {
			t.Errorf("%s %q: %s, want %s", tc.name, tc.key, got, tc.want)
		}
	}
	drv, _ := openBucket(t.Context(), "bkt", Options{Region: "cn-north-1", Anonymous: true, DisableHTTPS: true})
	if got := drv.objectURL("", url.Values{"list-type": {"2"}, "uploads": {""}}).String(); got != "http://bkt.s3.cn-north-1.amazonaws.com.cn/?list-type=2&uploads" {
		t.Errorf("bucket URL %s", got)
	}
}

// URL query parameters: the accepted ones are applied, anything else is
// refused with the list of what is accepted.
func TestURLOpener(t *testing.T) {
	q := url.Values{"region": {"eu-west-2"}, "endpoint": {"http://h:1"}, "use_path_style": {"true"}, "disable_https": {"1"},
		"anonymous": {"true"}, "profile": {"p"}, "ssetype": {"aws:kms"}, "kmskeyid": {"k"}}
	o, err := parseQuery(q, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if o.Region != "eu-west-2" || o.Endpoint != "http://h:1" || !o.UsePathStyle || !o.DisableHTTPS || !o.Anonymous ||
		o.Profile != "p" || o.SSEType != "aws:kms" || o.KMSKeyID != "k" {
		t.Fatalf("options %+v", o)
	}
	for raw, want := range map[string]string{
		"s3://bkt?colour=blue":                  "region, endpoint, use_path_style",
		"s3://bkt?s3ForcePathStyle=true":        "use_path_style=true",
		"s3://bkt?use_path_style=maybe":         "true or false",
		"s3://bkt?ssetype=DES":                  "AES256 or aws:kms",
		"s3://bkt?kmskeyid=k":                   "ssetype=aws:kms",
		"s3://bkt?endpoint=ftp://x":             "http(s) URL",
		"s3://bkt?region=eu-west-1&region=x":    "once",
		"s3://B_?anonymous=true":                "invalid bucket name",
		"s3://bkt?region=eu%20west&anonymous=1": "not a region",
	} {
		_, err := blob.OpenBucket(t.Context(), raw)
		if err == nil || !strings.Contains(err.Error(), want) || gcerrors.Code(err) == gcerrors.OK {
			t.Errorf("%s: %v, want an error saying %q", raw, err, want)
		}
	}
	b, err := blob.OpenBucket(t.Context(), "s3://bucket?anonymous=true&region=eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
}

// A failing credential source is a permission problem (not retried),
// unless it is transient; its message reaches the user.
func TestCredentialFailure(t *testing.T) {
	f := newFakeS3(t, "cairn-test")
	o := f.options()
	o.Credentials = failingCreds{}
	drv, err := openBucket(t.Context(), f.bucket, o)
	if err != nil {
		t.Fatal(err)
	}
	b := blob.NewBucket(drv)
	defer b.Close()
	_, err = b.ReadAll(t.Context(), "k")
	if gcerrors.Code(err) != gcerrors.PermissionDenied || !strings.Contains(err.Error(), "token file gone") {
		t.Fatalf("%v", err)
	}
	if len(f.requestLog()) != 0 {
		t.Fatal("request sent without credentials")
	}
}

type failingCreds struct{}

func (failingCreds) Retrieve(context.Context) (awscred.Credentials, error) {
	return awscred.Credentials{}, &awscred.Error{Source: "web identity", Msg: "token file gone"}
}

// AWS_CA_BUNDLE adds a private CA: a store whose certificate it signed is
// trusted, and a bundle without a certificate is refused by name.
func TestCABundle(t *testing.T) {
	f := newFakeS3(t, "cairn-test")
	tlsSrv := httptest.NewUnstartedServer(f.srv.Config.Handler)
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	dir := t.TempDir()
	bundle := filepath.Join(dir, "ca.pem")
	cert := tlsSrv.Certificate()
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	o := f.options()
	o.Endpoint, o.Client = tlsSrv.URL, nil
	if _, err := openBucket(t.Context(), f.bucket, o); err != nil {
		t.Fatal(err)
	}
	t.Setenv(CABundleEnv, bundle)
	drv, err := openBucket(t.Context(), f.bucket, o)
	if err != nil {
		t.Fatal(err)
	}
	b := blob.NewBucket(drv)
	defer b.Close()
	if err := b.WriteAll(t.Context(), "k", []byte("over TLS"), nil); err != nil {
		t.Fatalf("with the CA bundle: %v", err)
	}
	t.Setenv(CABundleEnv, "")
	drv, _ = openBucket(t.Context(), f.bucket, o)
	if _, err := blob.NewBucket(drv).ReadAll(t.Context(), "k"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without the CA bundle: %v, want a certificate error", err)
	}
	os.WriteFile(bundle, []byte("not a certificate"), 0o600)
	t.Setenv(CABundleEnv, bundle)
	if _, err := openBucket(t.Context(), f.bucket, o); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("bad bundle: %v", err)
	}
}
