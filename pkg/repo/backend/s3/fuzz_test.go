package s3

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/objhttp"
)

// The decoders below read what a server (or anything posing as one) sends:
// none may panic, and whatever they accept must be consistent.

func FuzzDecodeList(f *testing.F) {
	f.Add([]byte(`<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>t</NextContinuationToken><EncodingType>url</EncodingType>` +
		`<Contents><Key>a%2Fb+c</Key><LastModified>2024-01-02T03:04:05.000Z</LastModified><ETag>"5d41402abc4b2a76b9719d911017c592"</ETag><Size>5</Size></Contents>` +
		`<CommonPrefixes><Prefix>d%2F</Prefix></CommonPrefixes></ListBucketResult>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, next, err := decodeList(bytes.NewReader(data))
		if err != nil {
			return
		}
		_ = next
		for _, o := range objs {
			if o.Key == "" || o.Size < 0 || (o.MD5 != nil && len(o.MD5) != 16) || (o.IsDir && (o.Size != 0 || o.MD5 != nil)) {
				t.Fatalf("accepted inconsistent entry %+v", o)
			}
		}
	})
}

func FuzzParseErrorBody(f *testing.F) {
	f.Add([]byte(`<?xml version="1.0"?><Error><Code>PermanentRedirect</Code><Message>use the endpoint</Message><Endpoint>b.s3.eu-west-1.amazonaws.com</Endpoint></Error>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		code, msg, region := ParseErrorBody(data)
		if len(code) > 64 || len(msg) > objhttp.MaxMessage || len(region) > 32 || !utf8.ValidString(msg) || strings.ContainsAny(code+msg+region, "\n\r\x1b") {
			t.Fatalf("unsafe fields %q / %q / %q", code, msg, region)
		}
		if region != "" && cleanRegion(region) != region {
			t.Fatalf("region %q is not region-shaped", region)
		}
	})
}

func FuzzDecodeUploadID(f *testing.F) {
	f.Add([]byte(`<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIElE</UploadId></InitiateMultipartUploadResult>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		id, err := decodeUploadID(bytes.NewReader(data))
		if err == nil && (id == "" || len(id) > 1024) {
			t.Fatalf("accepted upload ID %q", id)
		}
	})
}

// Escaping is one-to-one: every valid key comes back from its object name,
// and unescaping any name (a listing can hold anything) does not panic.
func FuzzKeys(f *testing.F) {
	f.Add("up/../x\n__0x41__//y..\\z")
	f.Fuzz(func(t *testing.T, key string) {
		if unescaped := unescapeKey(key); utf8.ValidString(key) && !utf8.ValidString(unescaped) {
			t.Fatalf("unescapeKey(%q) = %q is not UTF-8", key, unescaped)
		}
		if !utf8.ValidString(key) {
			return
		}
		esc := escapeKey(key)
		if strings.ContainsFunc(esc, func(r rune) bool { return r < 32 }) || strings.Contains(esc, "../") || strings.Contains(esc, "//") || strings.Contains(esc, "..\\") {
			t.Fatalf("escapeKey(%q) = %q still holds a forbidden sequence", key, esc)
		}
		if got := unescapeKey(esc); got != key {
			t.Fatalf("unescapeKey(escapeKey(%q)) = %q", key, got)
		}
		mk := escapeMetadataKey(key)
		if got, err := unescapeMetadataKey(mk); err != nil || got != key {
			t.Fatalf("metadata key %q -> %q -> %q, %v", key, mk, got, err)
		}
	})
}
