package s3

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Keys and metadata names are stored the way gocloud's s3blob driver
// stored them, so a repository (or any bucket) written through it reads
// back unchanged: what S3 cannot hold becomes "__0x<hex>__", and so does
// the start of any "__0x" already in the name, which keeps the mapping
// one-to-one. Cairn's own keys never need escaping.

// escapeKey turns a blob key into an S3 object key: control characters
// and the "/" of "../" are escaped (as s3blob did), and so are the second
// "/" of "//" and the "\" of "..\", which MinIO refuses (S3 takes them, but
// a key that works on one S3 store should work on the others).
func escapeKey(key string) string {
	return hexEscape(key, func(r []rune, i int) bool {
		c := r[i]
		dotdot := i > 1 && r[i-1] == '.' && r[i-2] == '.'
		return c < 32 || (c == '/' && (dotdot || (i > 0 && r[i-1] == '/'))) || (c == '\\' && dotdot)
	})
}

// unescapeKey turns an S3 object key back into a blob key.
func unescapeKey(s string) string { return hexUnescape(s) }

// escapeMetadataKey makes a metadata name fit an x-amz-meta- header.
func escapeMetadataKey(k string) string {
	return hexEscape(url.PathEscape(k), func(r []rune, i int) bool {
		c := r[i]
		return c == '@' || c == ':' || c == '='
	})
}

// unescapeMetadataKey reverses escapeMetadataKey.
func unescapeMetadataKey(k string) (string, error) {
	return url.PathUnescape(hexUnescape(k))
}

// hexEscape writes every rune for which must returns true, and every
// rune that starts something looking like an escape, as "__0x<hex>__".
func hexEscape(s string, must func(r []rune, i int) bool) string {
	if !strings.ContainsFunc(s, func(c rune) bool {
		return c < 32 || c == '/' || c == '\\' || c == '_' || c == '@' || c == ':' || c == '='
	}) {
		return s
	}
	runes := []rune(s)
	var sb strings.Builder
	sb.Grow(len(s) + 16)
	for i, r := range runes {
		if must(runes, i) {
			fmt.Fprintf(&sb, "__0x%x__", r)
			continue
		}
		if startsEscape(runes, i) {
			// Text that starts like an escape: escape its first rune, so
			// "__0x" in a name only ever starts a real escape.
			fmt.Fprintf(&sb, "__0x%x__", r)
			continue
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// startsEscape reports whether "__0x" starts at runes[i]. s3blob escaped
// only complete look-alikes ("__0x41__"), which is not one-to-one: in
// "__0x0" followed by a control character, that character's escape
// completes the look-alike. Names written by s3blob still read back (the
// unescaping is the same); only keys holding a "__0x" that is not a
// complete escape are stored under another name than s3blob chose.
func startsEscape(runes []rune, i int) bool {
	return i+3 < len(runes) && runes[i] == '_' && runes[i+1] == '_' && runes[i+2] == '0' && runes[i+3] == 'x'
}

// escapeAt parses "__0x<hex>__" at runes[i] and returns the rune it stands
// for and its length in runes, or n == 0 if there is none.
func escapeAt(runes []rune, i int) (r rune, n int) {
	const open = "__0x"
	j := i
	for _, c := range open {
		if j >= len(runes) || runes[j] != c {
			return 0, 0
		}
		j++
	}
	start := j
	for j < len(runes) && runes[j] != '_' {
		j++
	}
	if j+1 >= len(runes) || runes[j+1] != '_' || j == start {
		return 0, 0
	}
	v, err := strconv.ParseInt(string(runes[start:j]), 16, 32)
	if err != nil || v < 0 {
		return 0, 0
	}
	return rune(v), j + 2 - i
}

// hexUnescape replaces every escape with the rune it stands for.
func hexUnescape(s string) string {
	if !strings.Contains(s, "__0x") {
		return s
	}
	runes := []rune(s)
	var sb strings.Builder
	sb.Grow(len(s))
	for i := 0; i < len(runes); {
		if r, n := escapeAt(runes, i); n > 0 {
			sb.WriteRune(r)
			i += n
			continue
		}
		sb.WriteRune(runes[i])
		i++
	}
	return sb.String()
}
