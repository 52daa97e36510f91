package azblob

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// authorizer adds credentials to a request just before it is sent.
type authorizer interface {
	authorize(req *http.Request) error
}

// sharedKey signs requests with the storage account key (Shared Key
// authorization, string-to-sign of version 2009-09-19 and later).
type sharedKey struct {
	account string
	key     []byte
	now     func() time.Time
}

// newSharedKey decodes the base64 account key. The key itself never
// appears in an error.
func newSharedKey(account, key string) (*sharedKey, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(key))
	if err != nil || len(raw) == 0 {
		return nil, fmt.Errorf("the storage account key for %q is not valid base64 (copy \"key1\" from the account's Access keys page into AZURE_STORAGE_KEY): %w", account, errInvalid)
	}
	return &sharedKey{account: account, key: raw, now: time.Now}, nil
}

// authorize implements authorizer.
func (s *sharedKey) authorize(req *http.Request) error {
	req.Header.Set("x-ms-date", s.now().UTC().Format(http.TimeFormat))
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(stringToSign(s.account, req)))
	req.Header.Set("Authorization", "SharedKey "+s.account+":"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return nil
}

// stringToSign builds the Blob service's Shared Key string-to-sign: the
// verb, eleven standard headers (Content-Length empty when zero), the
// canonicalized x-ms- headers and the canonicalized resource.
func stringToSign(account string, req *http.Request) string {
	h := req.Header
	length := ""
	if req.ContentLength > 0 {
		length = strconv.FormatInt(req.ContentLength, 10)
	}
	var sb strings.Builder
	for _, s := range []string{
		req.Method,
		h.Get("Content-Encoding"),
		h.Get("Content-Language"),
		length,
		h.Get("Content-MD5"),
		h.Get("Content-Type"),
		"", // Date: x-ms-date is always sent instead
		h.Get("If-Modified-Since"),
		h.Get("If-Match"),
		h.Get("If-None-Match"),
		h.Get("If-Unmodified-Since"),
		h.Get("Range"),
	} {
		sb.WriteString(s)
		sb.WriteByte('\n')
	}
	canonicalHeaders(&sb, h)
	canonicalResource(&sb, account, req.URL)
	return sb.String()
}

// canonicalHeaders writes every x-ms- header as "name:value\n", names
// lower-cased and sorted, values trimmed, repeated values joined by ",".
func canonicalHeaders(sb *strings.Builder, h http.Header) {
	type header struct{ name, value string }
	var hs []header
	for name, values := range h {
		lname := strings.ToLower(name)
		if !strings.HasPrefix(lname, "x-ms-") {
			continue
		}
		vs := make([]string, len(values))
		for i, v := range values {
			vs[i] = strings.TrimSpace(v)
		}
		hs = append(hs, header{lname, strings.Join(vs, ",")})
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].name < hs[j].name })
	for _, x := range hs {
		sb.WriteString(x.name)
		sb.WriteByte(':')
		sb.WriteString(x.value)
		sb.WriteByte('\n')
	}
}

// canonicalResource writes "/account/path" (the encoded path as sent) and
// then "\nname:value1,value2" for each query parameter, names lower-cased
// and sorted, values decoded and sorted.
func canonicalResource(sb *strings.Builder, account string, u *url.URL) {
	sb.WriteByte('/')
	sb.WriteString(account)
	if p := u.EscapedPath(); p != "" {
		sb.WriteString(p)
	} else {
		sb.WriteByte('/')
	}
	q, _ := url.ParseQuery(u.RawQuery)
	lower := make(map[string][]string, len(q))
	names := make([]string, 0, len(q))
	for name, vs := range q {
		ln := strings.ToLower(name)
		if _, ok := lower[ln]; !ok {
			names = append(names, ln)
		}
		lower[ln] = append(lower[ln], vs...)
	}
	sort.Strings(names)
	for _, name := range names {
		vs := lower[name]
		sort.Strings(vs)
		sb.WriteByte('\n')
		sb.WriteString(name)
		sb.WriteByte(':')
		sb.WriteString(strings.Join(vs, ","))
	}
}

// sasToken appends a shared access signature to every request's query.
type sasToken struct {
	query string // without the leading "?"
}

// newSASToken checks that token looks like a SAS query string. The token
// itself never appears in an error.
func newSASToken(token string) (*sasToken, error) {
	token = strings.TrimPrefix(strings.TrimSpace(token), "?")
	q, err := url.ParseQuery(token)
	if err != nil || q.Get("sig") == "" {
		return nil, fmt.Errorf("the SAS token is not a shared access signature query string (want \"sv=...&sig=...\", as the portal's \"Generate SAS\" shows it): %w", errInvalid)
	}
	return &sasToken{query: token}, nil
}

// authorize implements authorizer.
func (s *sasToken) authorize(req *http.Request) error {
	if req.URL.RawQuery == "" {
		req.URL.RawQuery = s.query
	} else {
		req.URL.RawQuery += "&" + s.query
	}
	return nil
}

// bearer adds a Microsoft Entra access token.
type bearer struct {
	tokens *tokenCache
}

// authorize implements authorizer.
func (b *bearer) authorize(req *http.Request) error {
	tok, err := b.tokens.token(req.Context())
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}
