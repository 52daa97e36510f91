package azblob

import (
	"fmt"
	"net/url"
	"strings"
)

// Keys and metadata are stored under the same names gocloud's azureblob
// driver used, so a repository written by an older cairn reads back
// unchanged. Characters Azure mishandles in blob names (control characters,
// '"', '#', '%', '?', '\', DEL, the "/" of "../" and a trailing "/") become
// "__0x<hex>__"; so does the start of any text that already looks like such
// an escape, which keeps the mapping one-to-one. Metadata names must be C#
// identifiers, so everything but letters, digits and '_' (and a leading
// digit) is escaped the same way; metadata values are percent-encoded.
// Cairn's own keys (hex names under a few directories) never need escaping.

// escapeKey turns a blob key (or, with prefix set, a listing prefix or
// delimiter, whose trailing "/" stays) into an Azure blob name.
func escapeKey(key string, prefix bool) string {
	return hexEscape(key, func(r []rune, i int) bool {
		switch c := r[i]; {
		case c < 32 || c == '"' || c == '#' || c == '%' || c == '?' || c == '\\' || c == 127:
			return true
		case c == '/' && !prefix && i == len(r)-1:
			return true
		case c == '/' && i > 1 && r[i-1] == '.' && r[i-2] == '.':
			return true
		}
		return false
	})
}

// escapeMetadataName turns a metadata name into a C# identifier.
func escapeMetadataName(name string) string {
	return hexEscape(name, func(r []rune, i int) bool {
		c := r[i]
		switch {
		case c >= '0' && c <= '9':
			return i == 0
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
			return false
		}
		return true
	})
}

// escapeMetadataValue percent-encodes a metadata value (headers carry ASCII only).
func escapeMetadataValue(v string) string { return url.PathEscape(v) }

// unescapeMetadataValue reverses escapeMetadataValue; a value some other
// client stored unencoded is returned as it is.
func unescapeMetadataValue(v string) string {
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}

// hexEscape writes the runes for which escape returns true as
// "__0x<hex>__", and also the first "_" of any text that would read back
// as an escape: one already in s, or one that only forms once a following
// rune is escaped ("__0x0" before an escaped " " would end in "__").
func hexEscape(s string, escape func(r []rune, i int) bool) string {
	runes := []rune(s)
	esc := make([]bool, len(runes))
	found := false
	for i := range runes {
		esc[i] = escape(runes, i)
		found = found || esc[i]
	}
	for i := range runes {
		if !esc[i] && formsEscape(runes, esc, i) {
			esc[i] = true
			found = true
		}
	}
	if !found {
		return s
	}
	var sb strings.Builder
	sb.Grow(len(s) + 16)
	for i, r := range runes {
		if esc[i] {
			fmt.Fprintf(&sb, "__%#x__", r)
		} else {
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// formsEscape reports whether the output would hold an escape starting at
// runes[i], given which runes are escaped: a verbatim "__0x", one to eight
// hex digits, then "__" made of verbatim "_" or the start of an escape.
func formsEscape(runes []rune, esc []bool, i int) bool {
	const open = "__0x"
	if i+len(open) > len(runes) {
		return false
	}
	for k, c := range open {
		if runes[i+k] != c || esc[i+k] {
			return false
		}
	}
	j := i + len(open)
	var v int64
	for ; j < len(runes) && !esc[j] && runes[j] != '_'; j++ {
		d := hexDigit(runes[j])
		if d < 0 || j-i-len(open) >= 8 {
			return false
		}
		v = v<<4 | int64(d)
	}
	if j == i+len(open) || j >= len(runes) || v > 1<<31-1 {
		return false
	}
	// An escaped rune at j starts with "__"; a verbatim "_" needs another
	// "_" after it, verbatim or as an escape's start.
	return esc[j] || (j+1 < len(runes) && (runes[j+1] == '_' || esc[j+1]))
}

// parseEscape parses an escape "__0x<hex>__" starting at runes[i] and
// returns its length in runes (0 if there is none) and the rune it stands for.
func parseEscape(runes []rune, i int) (n int, r rune) {
	const open = "__0x"
	j := i
	for _, c := range open {
		if j >= len(runes) || runes[j] != c {
			return 0, 0
		}
		j++
	}
	start := j
	var v int64
	for ; j < len(runes) && runes[j] != '_'; j++ {
		d := hexDigit(runes[j])
		if d < 0 || j-start >= 8 {
			return 0, 0
		}
		v = v<<4 | int64(d)
	}
	if j == start || j+1 >= len(runes) || runes[j+1] != '_' || v > 1<<31-1 {
		return 0, 0
	}
	return j + 2 - i, rune(v)
}

// hexDigit is the value of a hexadecimal digit, or -1.
func hexDigit(c rune) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// unescapeKey turns an Azure blob (or metadata) name back into a key.
func unescapeKey(name string) string {
	if !strings.Contains(name, "__0x") {
		return name
	}
	runes := []rune(name)
	var sb strings.Builder
	sb.Grow(len(name))
	for i := 0; i < len(runes); {
		if n, r := parseEscape(runes, i); n > 0 {
			sb.WriteRune(r)
			i += n
			continue
		}
		sb.WriteRune(runes[i])
		i++
	}
	return sb.String()
}

// escapePath percent-encodes a blob name for a URL path, keeping "/"
// (Azure's virtual directories) and RFC 3986's unreserved characters.
func escapePath(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var sb strings.Builder
	sb.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' || c == '/' {
			sb.WriteByte(c)
			continue
		}
		sb.WriteByte('%')
		sb.WriteByte(hexDigits[c>>4])
		sb.WriteByte(hexDigits[c&15])
	}
	return sb.String()
}
