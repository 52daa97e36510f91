package azblob

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/objhttp"
)

// The decoders below read what a server (or anything posing as one), or
// an environment variable, sends: none may panic, and whatever they accept
// must be consistent.

func FuzzDecodeList(f *testing.F) {
	f.Add([]byte(`<EnumerationResults><Blobs><Blob><Name>a__0x23__b</Name><Properties><Content-Length>3</Content-Length></Properties></Blob><BlobPrefix><Name Encoded="true">d%2F</Name></BlobPrefix></Blobs><NextMarker>m</NextMarker></EnumerationResults>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, _, err := decodeList(bytes.NewReader(data))
		if err != nil {
			return
		}
		for i, o := range objs {
			if o.Key == "" || o.Size < 0 || (o.IsDir && (o.Size != 0 || o.MD5 != nil)) || (o.MD5 != nil && len(o.MD5) != 16) {
				t.Fatalf("accepted inconsistent entry %+v", o)
			}
			if i > 0 && objs[i-1].Key > o.Key {
				t.Fatalf("entries out of order: %q before %q", objs[i-1].Key, o.Key)
			}
		}
	})
}

func FuzzParseErrorBody(f *testing.F) {
	f.Add([]byte("<?xml version=\"1.0\"?><Error><Code>ContainerNotFound</Code><Message>The specified container does not exist.\nRequestId:1</Message></Error>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		code, msg := parseErrorBody(data)
		for _, s := range []string{code, msg} {
			if !utf8.ValidString(s) || strings.ContainsAny(s, "\n\r\x1b") {
				t.Fatalf("unsafe text %q", s)
			}
		}
		if len(code) > 64 || len(msg) > objhttp.MaxMessage {
			t.Fatalf("unbounded code %d / message %d bytes", len(code), len(msg))
		}
	})
}

func FuzzDecodeToken(f *testing.F) {
	f.Add(200, []byte(`{"access_token":"abc","expires_in":"3599","expires_on":"1700000000","token_type":"Bearer"}`))
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, status int, data []byte) {
		tok, err := decodeToken("fuzz", status, data, now)
		if err != nil {
			if len(err.Error()) > 2*objhttp.MaxMessage+100 || strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("unsafe error %q", err)
			}
			return
		}
		if status/100 != 2 || tok.value == "" || !tok.expires.After(now) || tok.expires.After(now.Add(31*24*time.Hour)) {
			t.Fatalf("accepted %+v for status %d", tok, status)
		}
	})
}

func FuzzConnString(f *testing.F) {
	f.Add("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5PT0=;EndpointSuffix=core.windows.net")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseConnString(s)
		if err != nil {
			return
		}
		if (c.key == "" && c.sas == "") || (c.key != "" && c.account == "") || (c.protocol != "" && c.protocol != "http" && c.protocol != "https") {
			t.Fatalf("accepted inconsistent %+v", c)
		}
	})
}

// Escaping is one-to-one: every valid key comes back from its blob name,
// and unescaping any name (a listing can hold anything) does not panic.
func FuzzKeys(f *testing.F) {
	f.Add("up/../x\n#?%\\__0x41__/")
	f.Fuzz(func(t *testing.T, key string) {
		if unescaped := unescapeKey(key); utf8.ValidString(key) && !utf8.ValidString(unescaped) {
			t.Fatalf("unescapeKey(%q) = %q is not UTF-8", key, unescaped)
		}
		if !utf8.ValidString(key) {
			return
		}
		esc := escapeKey(key, false)
		if strings.ContainsAny(esc, "\r\n#?%\\\"") || strings.Contains(esc, "../") || strings.HasSuffix(esc, "/") {
			t.Fatalf("escapeKey(%q) = %q still holds a forbidden character", key, esc)
		}
		if got := unescapeKey(esc); got != key {
			t.Fatalf("unescapeKey(escapeKey(%q)) = %q", key, got)
		}
		if m := escapeMetadataName(key); unescapeKey(m) != key || strings.IndexFunc(m, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_')
		}) >= 0 {
			t.Fatalf("metadata name %q for %q", m, key)
		}
	})
}
