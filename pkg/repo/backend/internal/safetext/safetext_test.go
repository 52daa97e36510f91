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

// TestLineOtherStores checks the secrets the Google and Azure drivers'
// servers might echo: access tokens, JWTs and SAS signatures.
func TestLineOtherStores(t *testing.T) {
	in := "token ya29.a0AfB_byC-secret rejected; jwt eyJhbGciOi.eyJzdWIi.c2ln; url ?sv=2023&sig=AbC%2Bd%3D&se=1"
	got := Line(in, 300)
	for _, leak := range []string{"a0AfB_byC-secret", "hbGciOi", "AbC%2Bd"} {
		if strings.Contains(got, leak) {
			t.Errorf("Line kept %q: %q", leak, got)
		}
	}
	if !strings.Contains(got, "&se=1") {
		t.Errorf("Line redacted past the signature: %q", got)
	}
}

// TestPrintableBound checks that the space collapsed between two words
// never takes the text past its bound.
func TestPrintableBound(t *testing.T) {
	for n := 0; n < 6; n++ {
		if got := Printable("ab \t\n cd", n); len(got) > n {
			t.Errorf("Printable(_, %d) = %q, longer than %d", n, got, n)
		}
	}
	if got := Printable("ab \t\n cd", 5); got != "ab cd" {
		t.Errorf("Printable = %q, want %q", got, "ab cd")
	}
}

// FuzzLine: Line reads what a store or an SDK put in an error, which may
// come from a hostile server: for any input it returns at most n bytes of
// valid, printable UTF-8 on one line, and no signature survives it.
func FuzzLine(f *testing.F) {
	f.Add("Signature=00 <Token>x</Token>\r\nok", 40)
	f.Add("GET http://acct.blob.core.windows.net/c?sv=2023&sig=AbC%2Bd%3D RESPONSE 403", 1000)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 1000 {
			return
		}
		got := Line(s, n)
		if len(got) > n || !utf8.ValidString(got) || strings.ContainsAny(got, "\r\n\x1b") {
			t.Fatalf("Line(%q, %d) = %q", s, n, got)
		}
		if i := strings.Index(strings.ToLower(got), "signature="); i >= 0 {
			// What follows is REDACTED, or as much of it as n leaves.
			if rest := got[i+len("signature="):]; !strings.HasPrefix(rest, "REDACTED") && !strings.HasPrefix("REDACTED", rest) {
				t.Fatalf("Line(%q, %d) kept a signature: %q", s, n, got)
			}
		}
	})
}
