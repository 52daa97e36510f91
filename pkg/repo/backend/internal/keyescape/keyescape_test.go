package keyescape

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// newline is a scheme like the gs:// driver's: only "\n" must be escaped.
var newline = Scheme{Must: func(r []rune, i int) bool { return r[i] == '\n' }}

// newlineEvery is the same with every "__0x" escaped, as the s3:// driver does.
var newlineEvery = Scheme{Must: newline.Must, EveryOpening: true}

func TestEscape(t *testing.T) {
	for _, c := range []struct {
		s         Scheme
		key, want string
	}{
		{newline, "data/ab/cd", "data/ab/cd"},
		{newline, "a\nb", "a__0xa__b"},
		// A complete look-alike is escaped, as gocloud did.
		{newline, "__0x41__", "__0x5f___0x41__"},
		// Incomplete ones are left alone without EveryOpening ...
		{newline, "__0x41 and __0xzz__", "__0x41 and __0xzz__"},
		// ... and escaped with it.
		{newlineEvery, "__0x41 and __0xzz__", "__0x5f___0x41 and __0x5f___0xzz__"},
		// The gap gocloud left: the newline's escape completes "__0x0".
		{newline, "__0x0\n", "__0x5f___0x0__0xa__"},
		// A negative value is not an escape.
		{newline, "__0x-1__", "__0x-1__"},
		{newline, "é\n", "é__0xa__"},
	} {
		if got := c.s.Escape(c.key); got != c.want {
			t.Errorf("Escape(%q) = %q, want %q", c.key, got, c.want)
		}
		if got := Unescape(c.s.Escape(c.key)); got != c.key {
			t.Errorf("Unescape(Escape(%q)) = %q", c.key, got)
		}
	}
}

// TestUnescapeGocloudNames reads names gocloud's drivers wrote, and names
// other clients wrote that are not escapes.
func TestUnescapeGocloudNames(t *testing.T) {
	for name, want := range map[string]string{
		"a__0xa__b":           "a\nb",
		"__0x5f___0x41__":     "__0x41__",
		"x__0x2f__y":          "x/y",
		"__0x__":              "__0x__",
		"__0xzz__":            "__0xzz__",
		"__0x41":              "__0x41",
		"__0x1f600__":         "\U0001f600",
		"__0x-1__":            "__0x-1__",
		"__0x100000000__tail": "__0x100000000__tail",
	} {
		if got := Unescape(name); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", name, got, want)
		}
	}
}

func FuzzEscape(f *testing.F) {
	f.Add("up/../x\n__0x41__", false)
	f.Fuzz(func(t *testing.T, key string, every bool) {
		if u := Unescape(key); utf8.ValidString(key) && !utf8.ValidString(u) {
			t.Fatalf("Unescape(%q) = %q is not UTF-8", key, u)
		}
		if !utf8.ValidString(key) {
			return
		}
		s := newline
		s.EveryOpening = every
		esc := s.Escape(key)
		if strings.Contains(esc, "\n") {
			t.Fatalf("Escape(%q) = %q keeps a newline", key, esc)
		}
		if got := Unescape(esc); got != key {
			t.Fatalf("Unescape(Escape(%q)) = %q (via %q)", key, got, esc)
		}
	})
}
