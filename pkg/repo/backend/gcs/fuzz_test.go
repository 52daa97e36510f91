package gcs

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/objhttp"
)

// The decoders below read what a server (or anything posing as one) sends:
// none may panic, and whatever they accept must be consistent.

func FuzzDecodeObject(f *testing.F) {
	f.Add([]byte(`{"name":"a","size":"12","md5Hash":"1B2M2Y8AsgTpgAmY7PhCfg==","updated":"2024-01-02T03:04:05.678Z","etag":"CAE="}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := decodeObject(bytes.NewReader(data))
		if err != nil {
			return
		}
		if a.Size < 0 || (a.MD5 != nil && len(a.MD5) != 16) || a.ContentType == "" {
			t.Fatalf("accepted inconsistent attributes %+v", a)
		}
	})
}

func FuzzDecodeList(f *testing.F) {
	f.Add([]byte(`{"nextPageToken":"t","prefixes":["d/"],"items":[{"name":"a__0xa__b","size":"1"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, _, err := decodeList(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, o := range objs {
			if o.Key == "" || o.Size < 0 || (o.IsDir && (o.Size != 0 || o.MD5 != nil)) {
				t.Fatalf("accepted inconsistent entry %+v", o)
			}
		}
	})
}

func FuzzParseErrorBody(f *testing.F) {
	f.Add([]byte(`{"error":{"code":404,"message":"The specified bucket does not exist.","errors":[{"reason":"notFound"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		reason, msg := parseErrorBody(data)
		if len(reason) > 64 || len(msg) > objhttp.MaxMessage || !utf8.ValidString(msg) || strings.ContainsAny(msg, "\n\r\x1b") {
			t.Fatalf("unsafe message %q / reason %q", msg, reason)
		}
	})
}

// Escaping is one-to-one: every valid key comes back from its object name,
// and unescaping any name (a listing can hold anything) does not panic.
func FuzzKeys(f *testing.F) {
	f.Add("up/../x\n__0x41__")
	f.Fuzz(func(t *testing.T, key string) {
		if unescaped := unescapeKey(key); utf8.ValidString(key) && !utf8.ValidString(unescaped) {
			t.Fatalf("unescapeKey(%q) = %q is not UTF-8", key, unescaped)
		}
		if !utf8.ValidString(key) {
			return
		}
		esc := escapeKey(key)
		if strings.ContainsAny(esc, "\r\n") || strings.Contains(esc, "../") {
			t.Fatalf("escapeKey(%q) = %q still holds a forbidden sequence", key, esc)
		}
		if got := unescapeKey(esc); got != key {
			t.Fatalf("unescapeKey(escapeKey(%q)) = %q", key, got)
		}
	})
}
