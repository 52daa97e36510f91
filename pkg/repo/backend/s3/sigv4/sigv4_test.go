package sigv4

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/pctencode"
)

// The worked examples of AWS's "Signature Calculations for the
// Authorization Header" page for S3 (Signature Version 4).
var example = Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}

func TestAWSExamples(t *testing.T) {
	at := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, method, url string
		headers           map[string]string
		body              string
		signedHeaders     string
		signature         string
	}{
		{
			name: "GET object", method: "GET", url: "https://examplebucket.s3.amazonaws.com/test.txt",
			headers:       map[string]string{"Range": "bytes=0-9"},
			signedHeaders: "host;range;x-amz-content-sha256;x-amz-date",
			signature:     "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
		},
		{
			name: "PUT object", method: "PUT", url: "https://examplebucket.s3.amazonaws.com/" + pctencode.EscapePath("test$file.text"),
			headers:       map[string]string{"Date": "Fri, 24 May 2013 00:00:00 GMT", "X-Amz-Storage-Class": "REDUCED_REDUNDANCY"},
			body:          "Welcome to Amazon S3.",
			signedHeaders: "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
			signature:     "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
		},
		{
			name: "GET bucket lifecycle", method: "GET", url: "https://examplebucket.s3.amazonaws.com/?lifecycle",
			signedHeaders: "host;x-amz-content-sha256;x-amz-date",
			signature:     "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
		},
		{
			name: "list objects", method: "GET", url: "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J",
			signedHeaders: "host;x-amz-content-sha256;x-amz-date",
			signature:     "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			req.Header.Set("User-Agent", "not signed")
			Sign(req, example, "us-east-1", "s3", PayloadHash([]byte(tc.body)), at)
			want := "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=" +
				tc.signedHeaders + ",Signature=" + tc.signature
			if got := req.Header.Get("Authorization"); got != want {
				t.Errorf("Authorization:\n got %s\nwant %s", got, want)
			}
			if req.Header.Get("X-Amz-Date") != "20130524T000000Z" {
				t.Errorf("X-Amz-Date = %q", req.Header.Get("X-Amz-Date"))
			}
		})
	}
}

// A session token is sent and signed; re-signing replaces the old
// signature instead of signing it.
func TestSessionTokenAndResign(t *testing.T) {
	req, _ := http.NewRequest("GET", "https://b.s3.eu-west-1.amazonaws.com/k", nil)
	c := example
	c.SessionToken = "token"
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	Sign(req, c, "eu-west-1", "s3", EmptyPayloadHash, at)
	first := req.Header.Get("Authorization")
	if req.Header.Get("X-Amz-Security-Token") != "token" || !strings.Contains(first, "x-amz-security-token") {
		t.Fatalf("session token not sent and signed: %v", req.Header)
	}
	Sign(req, c, "eu-west-1", "s3", EmptyPayloadHash, at)
	if again := req.Header.Get("Authorization"); again != first {
		t.Fatalf("re-signing changed the signature:\n%s\n%s", first, again)
	}
}

// Credentials never print their secret parts.
func TestCredentialsDoNotPrintSecrets(t *testing.T) {
	c := example
	c.SessionToken = "session-secret"
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c)} {
		if strings.Contains(s, "EXAMPLEKEY") || strings.Contains(s, "session-secret") {
			t.Fatalf("secret printed: %s", s)
		}
	}
}

// TestPresignAWSExample checks the query-string example of AWS's SigV4
// documentation ("Authenticating Requests: Using Query Parameters"): a GET
// of examplebucket/test.txt valid for 86400 seconds.
func TestPresignAWSExample(t *testing.T) {
	u, _ := url.Parse("https://examplebucket.s3.amazonaws.com/test.txt")
	c := Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	now := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)
	got := Presign("GET", u, c, "us-east-1", "s3", nil, 86400*time.Second, now)
	const wantSig = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
	if sig := got.Query().Get("X-Amz-Signature"); sig != wantSig {
		t.Fatalf("signature %s, want %s (URL %s)", sig, wantSig, got)
	}
	if q := got.Query(); q.Get("X-Amz-Credential") != "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request" ||
		q.Get("X-Amz-SignedHeaders") != "host" || q.Get("X-Amz-Expires") != "86400" {
		t.Fatalf("query %v", q)
	}
	if strings.Contains(got.String(), c.SecretAccessKey) {
		t.Fatal("the secret key is in the URL")
	}
}
