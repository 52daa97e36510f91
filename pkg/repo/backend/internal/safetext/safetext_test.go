package safetext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLine(t *testing.T) {
	in := "bad\x1b[31m request\n\tAuthorization: AWS4-HMAC-SHA256 Credential=AKIA/x, Signature=abcdef <SignatureProvided>ff00</SignatureProvided> Bearer tok.en"
	got := Line(in, 300)
	for _, leak := range []string{"abcdef", "ff00", "tok.en", "AKIA", "\x1b", "\n"} {
		if strings.Contains(got, leak) {
			t.Errorf("Line kept %q: %q", leak, got)
		}
	}
	if got := Line("äöü  x", 5); got != "äö" || !utf8.ValidString(got) {
		t.Errorf("cut = %q", got)
	}
}

func FuzzLine(f *testing.F) {
	f.Add("Signature=00 <Token>x</Token>\r\nok", 40)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 1000 {
			return
		}
		got := Line(s, n)
		if len(got) > n || !utf8.ValidString(got) || strings.ContainsAny(got, "\r\n\x1b") {
			t.Fatalf("Line(%q, %d) = %q", s, n, got)
		}
	})
}
