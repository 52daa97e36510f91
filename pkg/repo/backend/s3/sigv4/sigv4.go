// Package sigv4 signs HTTP requests with AWS Signature Version 4, the only
// authentication S3 and STS accept today. Cairn signs its own requests so
// that its S3 driver needs no AWS SDK, whose package initialisers cost every
// cairn process memory and binary size whether or not it talks to S3.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/pctencode"
)

// Credentials are one set of AWS access keys. They are secret: never print
// or log them (String hides them so %v cannot leak them by accident).
type Credentials struct {
	// AccessKeyID identifies the key; it is not secret on its own but
	// says whose key signed a request.
	AccessKeyID string
	// SecretAccessKey signs requests.
	SecretAccessKey string
	// SessionToken accompanies temporary credentials (STS, IMDS,
	// containers); empty for long-term keys.
	SessionToken string
	// Expires is when temporary credentials stop working; zero for keys
	// that do not expire.
	Expires time.Time
}

// String describes the credentials without revealing the secret parts.
func (c Credentials) String() string {
	s := "AWS credentials " + c.AccessKeyID
	if !c.Expires.IsZero() {
		s += " (expire " + c.Expires.UTC().Format(time.RFC3339) + ")"
	}
	return s
}

// GoString is String, so %#v does not leak the secret either.
func (c Credentials) GoString() string { return c.String() }

// EmptyPayloadHash is the SHA-256 of an empty body, the payload hash of
// every request without one.
const EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// HeaderContentSHA256 carries the payload hash; S3 requires it on every
// signed request.
const HeaderContentSHA256 = "X-Amz-Content-Sha256"

// timeFormat is the ISO 8601 basic format of X-Amz-Date.
const timeFormat = "20060102T150405Z"

// ignoredHeaders are headers proxies and the transport may change, so
// signing them would break requests for no gain.
var ignoredHeaders = map[string]bool{
	"authorization": true, "user-agent": true, "content-length": true, "expect": true,
	"accept-encoding": true, "transfer-encoding": true, "connection": true, "x-amzn-trace-id": true,
}

// Sign signs req for service in region at time now, adding X-Amz-Date,
// X-Amz-Security-Token (for temporary credentials), X-Amz-Content-Sha256
// (for service "s3") and Authorization. payloadHash is the hex SHA-256 of
// the body (EmptyPayloadHash without one). Every header already set on req,
// other than a few the transport owns, is signed, and so is the host.
// req.URL must hold the path exactly as it will be sent (EscapedPath).
func Sign(req *http.Request, c Credentials, region, service, payloadHash string, now time.Time) {
	stamp := now.UTC().Format(timeFormat)
	req.Header.Set("X-Amz-Date", stamp)
	req.Header.Del("Authorization")
	if c.SessionToken != "" {
		req.Header.Set("X-Amz-Security-Token", c.SessionToken)
	}
	if service == "s3" {
		req.Header.Set(HeaderContentSHA256, payloadHash)
	}
	signed, canonHeaders := canonicalHeaders(req)
	canonical := strings.Join([]string{
		req.Method,
		canonicalPath(req.URL),
		canonicalQuery(req.URL.RawQuery),
		canonHeaders,
		signed,
		payloadHash,
	}, "\n")
	scope := stamp[:8] + "/" + region + "/" + service + "/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + stamp + "\n" + scope + "\n" + hexSHA256([]byte(canonical))
	key := signingKey(c.SecretAccessKey, stamp[:8], region, service)
	sig := hex.EncodeToString(hmacSHA256(key, []byte(toSign)))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+c.AccessKeyID+"/"+scope+
		",SignedHeaders="+signed+",Signature="+sig)
}

// PayloadHash returns the hex SHA-256 of body, for Sign.
func PayloadHash(body []byte) string {
	if len(body) == 0 {
		return EmptyPayloadHash
	}
	return hexSHA256(body)
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func hmacSHA256(key, data []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(data)
	return h.Sum(nil)
}

// signingKey derives the key for one day, region and service.
func signingKey(secret, day, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), []byte(day))
	k = hmacSHA256(k, []byte(region))
	k = hmacSHA256(k, []byte(service))
	return hmacSHA256(k, []byte("aws4_request"))
}

// canonicalPath is the path as sent: S3 signs it without a second encoding.
func canonicalPath(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	return p
}

// canonicalQuery sorts the query by name, then value, with every name and
// value encoded the strict RFC 3986 way.
func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	q, _ := url.ParseQuery(raw)
	pairs := make([]string, 0, len(q))
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, pctencode.Escape(k)+"="+pctencode.Escape(v))
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

// canonicalHeaders returns the signed header list and the canonical
// header block (lower-case names, trimmed values with inner runs of spaces
// collapsed, sorted, each line ending in a newline).
func canonicalHeaders(req *http.Request) (signed, block string) {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	vals := map[string]string{"host": host}
	names := []string{"host"}
	for k, vs := range req.Header {
		lk := strings.ToLower(k)
		if ignoredHeaders[lk] || lk == "host" {
			continue
		}
		clean := make([]string, len(vs))
		for i, v := range vs {
			clean[i] = strings.Join(strings.Fields(v), " ")
		}
		vals[lk] = strings.Join(clean, ",")
		names = append(names, lk)
	}
	sort.Strings(names)
	var sb strings.Builder
	for _, n := range names {
		sb.WriteString(n + ":" + vals[n] + "\n")
	}
	return strings.Join(names, ";"), sb.String()
}
