package sigv4

import (
	"encoding/hex"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// UnsignedPayload is the payload hash of a presigned URL: whoever uses the
// URL sends a body the signer never saw.
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// Presign returns u with query-string authentication for method, valid
// for expires from now: the URL alone authorises that one request, so a
// pod or a browser without credentials can fetch (or put) the object.
// signedHeaders are headers the user of the URL must send with exactly
// these values (e.g. Content-Type); the host is always signed. u's path
// must be escaped as it will be sent (RawPath) and its query, if any, must
// not already hold X-Amz-* parameters.
func Presign(method string, u *url.URL, c Credentials, region, service string, signedHeaders map[string]string,
	expires time.Duration, now time.Time) *url.URL {
	stamp := now.UTC().Format(timeFormat)
	scope := stamp[:8] + "/" + region + "/" + service + "/aws4_request"
	headers := map[string]string{"host": u.Host}
	for k, v := range signedHeaders {
		headers[strings.ToLower(k)] = strings.Join(strings.Fields(v), " ")
	}
	names := make([]string, 0, len(headers))
	for k := range headers {
		names = append(names, k)
	}
	sort.Strings(names)
	var block strings.Builder
	for _, n := range names {
		block.WriteString(n + ":" + headers[n] + "\n")
	}
	signed := strings.Join(names, ";")

	q := u.Query()
	q.Set("X-Amz-Algorithm", "AWS4-HMAC-SHA256")
	q.Set("X-Amz-Credential", c.AccessKeyID+"/"+scope)
	q.Set("X-Amz-Date", stamp)
	q.Set("X-Amz-Expires", strconv.Itoa(int(expires/time.Second)))
	q.Set("X-Amz-SignedHeaders", signed)
	if c.SessionToken != "" {
		q.Set("X-Amz-Security-Token", c.SessionToken)
	}
	out := *u
	out.RawQuery = canonicalQuery(q.Encode())
	canonical := strings.Join([]string{
		method,
		canonicalPath(&out),
		out.RawQuery,
		block.String(),
		signed,
		UnsignedPayload,
	}, "\n")
	toSign := "AWS4-HMAC-SHA256\n" + stamp + "\n" + scope + "\n" + hexSHA256([]byte(canonical))
	key := signingKey(c.SecretAccessKey, stamp[:8], region, service)
	out.RawQuery += "&X-Amz-Signature=" + hex.EncodeToString(hmacSHA256(key, []byte(toSign)))
	return &out
}
