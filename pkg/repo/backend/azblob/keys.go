package azblob

import (
	"net/url"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/keyescape"
)

// Keys and metadata are stored under the same names gocloud's azureblob
// driver used, so a repository written by an older cairn reads back
// unchanged. Characters Azure mishandles in blob names (control characters,
// '"', '#', '%', '?', '\', DEL, the "/" of "../" and a trailing "/") become
// "__0x<hex>__"; so does the start of any text that would read back as
// such an escape, which keeps the mapping one-to-one (azureblob escaped
// only look-alikes complete in the key, so "__0x0 " read back as another
// key; only such keys are stored under other names now). Metadata names must be C#
// identifiers, so everything but letters, digits and '_' (and a leading
// digit) is escaped the same way; metadata values are percent-encoded.
// Cairn's own keys (hex names under a few directories) never need escaping.

// escapeKey turns a blob key (or, with prefix set, a listing prefix or
// delimiter, whose trailing "/" stays) into an Azure blob name.
func escapeKey(key string, prefix bool) string {
	if prefix {
		return prefixes.Escape(key)
	}
	return keys.Escape(key)
}

// keys escapes what Azure mishandles in a blob name.
var keys = keyescape.Scheme{Must: func(r []rune, i int) bool {
	return r[i] == '/' && i == len(r)-1 || mishandled(r, i)
}}

// prefixes is keys for listing prefixes and delimiters: a trailing "/"
// selects a virtual directory and stays.
var prefixes = keyescape.Scheme{Must: mishandled}

// mishandled reports whether Azure mishandles r[i] anywhere in a name.
func mishandled(r []rune, i int) bool {
	switch c := r[i]; {
	case c < 32 || c == '"' || c == '#' || c == '%' || c == '?' || c == '\\' || c == 127:
		return true
	case c == '/' && i > 1 && r[i-1] == '.' && r[i-2] == '.':
		return true
	}
	return false
}

// metadataNames turns a metadata name into a C# identifier.
var metadataNames = keyescape.Scheme{Must: func(r []rune, i int) bool {
	switch c := r[i]; {
	case c >= '0' && c <= '9':
		return i == 0
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		return false
	}
	return true
}}

// escapeMetadataName turns a metadata name into a C# identifier.
func escapeMetadataName(name string) string { return metadataNames.Escape(name) }

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

// unescapeKey turns an Azure blob (or metadata) name back into a key.
func unescapeKey(name string) string { return keyescape.Unescape(name) }
