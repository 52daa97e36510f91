package gcs

import (
	"strconv"
	"strings"
)

// Keys are stored under the same names gocloud's gcsblob driver used, so a
// repository written by an older cairn reads back unchanged: characters
// Cloud Storage cannot take (CR, LF, the "/" of "../") become "__0x<hex>__",
// and so does the start of any text that already looks like such an escape,
// which keeps the mapping one-to-one. Cairn's own keys (hex names under a
// few directories) never need escaping.

// escapeKey turns a blob key into a Cloud Storage object name.
func escapeKey(key string) string {
	runes := []rune(key)
	var sb strings.Builder
	escaped := false
	for i, r := range runes {
		if needsEscape(runes, i) {
			if !escaped {
				sb.Grow(len(key) + 16)
				sb.WriteString(string(runes[:i]))
				escaped = true
			}
			sb.WriteString("__0x" + strconv.FormatInt(int64(r), 16) + "__")
		} else if escaped {
			sb.WriteRune(r)
		}
	}
	if !escaped {
		return key
	}
	return sb.String()
}

// needsEscape reports whether runes[i] must be written as an escape.
func needsEscape(runes []rune, i int) bool {
	switch r := runes[i]; {
	case r == '\n' || r == '\r':
		return true
	case r == '/' && i > 1 && runes[i-1] == '.' && runes[i-2] == '.':
		return true
	}
	_, n := escapeAt(runes, i)
	return n > 0
}

// escapeAt parses an escape "__0x<hex>__" starting at runes[i] and returns
// the rune it stands for and its length in runes, or n == 0 if there is none.
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
	if j+1 >= len(runes) || runes[j+1] != '_' {
		return 0, 0
	}
	v, err := strconv.ParseInt(string(runes[start:j]), 16, 32)
	if err != nil {
		return 0, 0
	}
	return rune(v), j + 2 - i
}

// unescapeKey turns a Cloud Storage object name back into a blob key.
func unescapeKey(name string) string {
	if !strings.Contains(name, "__0x") {
		return name
	}
	runes := []rune(name)
	var sb strings.Builder
	sb.Grow(len(name))
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
