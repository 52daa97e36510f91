// Package pctencode percent-encodes URL parts the strict RFC 3986 way:
// everything but the unreserved characters (letters, digits, "-._~"), with
// upper-case hex. url.PathEscape leaves "+", "$", "&" and others alone,
// which servers decode differently (fake-gcs-server among them), and
// SigV4 signs exactly this encoding; the three drivers share it.
package pctencode

import "strings"

// Escape encodes s for a query name or value or a single path segment
// ("/" is encoded too).
func Escape(s string) string { return escape(s, false) }

// EscapePath is Escape leaving "/" alone, for an object path.
func EscapePath(s string) string { return escape(s, true) }

func escape(s string, keepSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var sb strings.Builder
	sb.Grow(len(s) + len(s)/2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || (keepSlash && c == '/') {
			sb.WriteByte(c)
			continue
		}
		sb.WriteByte('%')
		sb.WriteByte(hexDigits[c>>4])
		sb.WriteByte(hexDigits[c&15])
	}
	return sb.String()
}
