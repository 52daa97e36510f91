// Package keyescape is the "__0x<hex>__" escaping that gocloud's s3blob,
// gcsblob and azureblob drivers applied to blob keys, and that cairn's own
// drivers keep so that repositories written through gocloud read back
// unchanged. Each store has its own set of characters it cannot hold (the
// Must function of its Scheme); the escape itself, how text that already
// looks like an escape is kept apart, and the unescaping are shared.
//
// gocloud escaped look-alikes only when they were complete in the key
// ("__0x41__"), which is not one-to-one: in "__0x0" followed by a newline,
// the newline's escape completes the look-alike, and the name reads back
// as another key. Both look-alike rules here close that gap.
package keyescape

import (
	"strconv"
	"strings"
)

// Scheme is one store's escaping.
type Scheme struct {
	// Must reports whether runes[i] cannot be stored verbatim.
	Must func(runes []rune, i int) bool
	// EveryOpening escapes the first "_" of every "__0x" in a key. Without
	// it only the "__0x" that would read back as an escape is escaped, so
	// names are gocloud's except where gocloud's were ambiguous (gs:// and
	// azblob:// keep those). The s3:// driver has stored every "__0x"
	// escaped since it was written, so it keeps doing so.
	EveryOpening bool
}

// opening starts every escape.
const opening = "__0x"

// Escape turns a key into a stored name: every rune Must selects, and the
// first "_" of every look-alike, becomes "__0x<hex>__". A key that needs
// nothing escaped is returned as it is.
func (s Scheme) Escape(key string) string {
	runes := []rune(key)
	esc := make([]bool, len(runes))
	found := false
	for i := range runes {
		esc[i] = s.Must(runes, i) || (s.EveryOpening && opensAt(runes, i))
		found = found || esc[i]
	}
	if !s.EveryOpening {
		// Left to right is enough: escaping the "_" at i only ever ends a
		// look-alike that starts before i with "__", which the verbatim
		// "__" there already did.
		for i := range runes {
			if !esc[i] && formsEscape(runes, esc, i) {
				esc[i] = true
				found = true
			}
		}
	}
	if !found {
		return key
	}
	var sb strings.Builder
	sb.Grow(len(key) + 16)
	for i, r := range runes {
		if esc[i] {
			sb.WriteString(opening)
			sb.WriteString(strconv.FormatInt(int64(r), 16))
			sb.WriteString("__")
		} else {
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// opensAt reports whether "__0x" starts at runes[i].
func opensAt(runes []rune, i int) bool {
	if i+len(opening) > len(runes) {
		return false
	}
	for k, c := range opening {
		if runes[i+k] != c {
			return false
		}
	}
	return true
}

// formsEscape reports whether the stored name would hold an escape
// starting at runes[i], given which runes are escaped: a verbatim "__0x",
// verbatim digits that parse, then "__" made of verbatim "_" or the start
// of an escape.
func formsEscape(runes []rune, esc []bool, i int) bool {
	if !opensAt(runes, i) {
		return false
	}
	for k := range len(opening) {
		if esc[i+k] {
			return false
		}
	}
	start := i + len(opening)
	j := start
	for j < len(runes) && !esc[j] && runes[j] != '_' {
		j++
	}
	if j >= len(runes) {
		return false
	}
	if _, ok := hexValue(runes[start:j]); !ok {
		return false
	}
	// An escaped rune at j starts with "__"; a verbatim "_" needs another
	// "_" after it, verbatim or as an escape's start.
	return esc[j] || (j+1 < len(runes) && (runes[j+1] == '_' || esc[j+1]))
}

// hexValue parses the digits of an escape the way gocloud's unescaping
// did (strconv.ParseInt, base 16, 32 bits), but refuses negative values,
// which stand for no character.
func hexValue(digits []rune) (rune, bool) {
	v, err := strconv.ParseInt(string(digits), 16, 32)
	if err != nil || v < 0 {
		return 0, false
	}
	return rune(v), true
}

// escapeAt parses "__0x<hex>__" at runes[i] and returns the rune it stands
// for and its length in runes, or n == 0 if there is none.
func escapeAt(runes []rune, i int) (r rune, n int) {
	if !opensAt(runes, i) {
		return 0, 0
	}
	start := i + len(opening)
	j := start
	for j < len(runes) && runes[j] != '_' {
		j++
	}
	if j+1 >= len(runes) || runes[j+1] != '_' {
		return 0, 0
	}
	r, ok := hexValue(runes[start:j])
	if !ok {
		return 0, 0
	}
	return r, j + 2 - i
}

// Unescape turns a stored name back into a key, replacing every escape
// with the rune it stands for. Any name is accepted: a listing can hold
// objects other clients wrote.
func Unescape(name string) string {
	if !strings.Contains(name, opening) {
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
