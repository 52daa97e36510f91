package s3

import (
	"net/url"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/keyescape"
)

// Keys and metadata names are stored the way gocloud's s3blob driver
// stored them, so a repository (or any bucket) written through it reads
// back unchanged: what S3 cannot hold becomes "__0x<hex>__", and so does
// the start of every "__0x" already in the name, which keeps the mapping
// one-to-one. s3blob escaped only complete look-alikes ("__0x41__"), which
// is not one-to-one: in "__0x0" followed by a control character, that
// character's escape completes the look-alike. This driver has escaped
// every "__0x" since it was written (EveryOpening), so it keeps doing so:
// names written by s3blob still read back (the unescaping is the same);
// only keys holding a "__0x" that is not a complete escape are stored
// under another name than s3blob chose. Cairn's own keys never need
// escaping.

// keys escapes control characters and the "/" of "../" (as s3blob did),
// and the second "/" of "//" and the "\" of "..\", which MinIO refuses (S3
// takes them, but a key that works on one S3 store should work on the
// others).
var keys = keyescape.Scheme{EveryOpening: true, Must: func(r []rune, i int) bool {
	c := r[i]
	dotdot := i > 1 && r[i-1] == '.' && r[i-2] == '.'
	return c < 32 || (c == '/' && (dotdot || (i > 0 && r[i-1] == '/'))) || (c == '\\' && dotdot)
}}

// metadataNames escapes what an x-amz-meta- header name cannot hold once
// it is percent-encoded.
var metadataNames = keyescape.Scheme{EveryOpening: true, Must: func(r []rune, i int) bool {
	c := r[i]
	return c == '@' || c == ':' || c == '='
}}

// escapeKey turns a blob key into an S3 object key.
func escapeKey(key string) string { return keys.Escape(key) }

// unescapeKey turns an S3 object key back into a blob key.
func unescapeKey(s string) string { return keyescape.Unescape(s) }

// escapeMetadataKey makes a metadata name fit an x-amz-meta- header.
func escapeMetadataKey(k string) string { return metadataNames.Escape(url.PathEscape(k)) }

// unescapeMetadataKey reverses escapeMetadataKey.
func unescapeMetadataKey(k string) (string, error) {
	return url.PathUnescape(keyescape.Unescape(k))
}
