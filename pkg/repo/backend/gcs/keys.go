package gcs

import "github.com/cairnbackup/cairn/pkg/repo/backend/internal/keyescape"

// Keys are stored under the same names gocloud's gcsblob driver used, so a
// repository written by an older cairn reads back unchanged: characters
// Cloud Storage cannot take (CR, LF, the "/" of "../") become "__0x<hex>__",
// and so does the start of any text that would read back as such an
// escape, which keeps the mapping one-to-one. gcsblob escaped only
// look-alikes complete in the key, so a key such as "__0x0\n" came back as
// another one; only such keys (and "__0x-<hex>__", which gcsblob read as
// U+FFFD) are stored under other names now. Cairn's own keys (hex names
// under a few directories) never need escaping.
var keys = keyescape.Scheme{Must: func(r []rune, i int) bool {
	switch c := r[i]; {
	case c == '\n' || c == '\r':
		return true
	case c == '/' && i > 1 && r[i-1] == '.' && r[i-2] == '.':
		return true
	}
	return false
}}

// escapeKey turns a blob key into a Cloud Storage object name.
func escapeKey(key string) string { return keys.Escape(key) }

// unescapeKey turns a Cloud Storage object name back into a blob key.
func unescapeKey(name string) string { return keyescape.Unescape(name) }
