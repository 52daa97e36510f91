// Package safetext makes text that a server (or anything posing as one)
// sent fit to print in an error message: one line, printable, bounded, and
// without anything shaped like a credential or a signature. The s3://,
// gs:// and azblob:// drivers all pass server text through Line, so what
// one store's proxy might echo back is redacted in every driver's errors.
package safetext

import (
	"regexp"
	"strings"
	"unicode"
)

// secretPattern matches what an echoing proxy or a debugging server might
// send back from a request: SigV4 signatures and credentials, AWS session
// tokens, bearer tokens and Google access tokens (ya29.), JWTs (eyJ...),
// SAS signatures (sig=), and the secret-bearing elements of AWS answers.
var secretPattern = regexp.MustCompile(`(?i)(signature=|credential=|x-amz-security-token[=:]\s*|bearer\s+|ya29\.|eyJ|sig=|<(?:SecretAccessKey|SessionToken|Token|StringToSign(?:Bytes)?|CanonicalRequest(?:Bytes)?|SignatureProvided)>)[^\s<,&"]*`)

// Line redacts secrets, collapses whitespace, drops control and invalid
// characters and cuts s to at most n bytes.
func Line(s string, n int) string {
	return Printable(secretPattern.ReplaceAllString(s, "${1}REDACTED"), n)
}

// Printable collapses whitespace, drops control and invalid characters and
// cuts s to at most n bytes (never inside a rune), so a hostile or broken
// server cannot garble a terminal or the logs. It does not redact: use it
// only for text that cannot hold a secret, Line for anything else.
func Printable(s string, n int) string {
	var sb strings.Builder
	space := false
	for _, r := range s {
		switch {
		case r == unicode.ReplacementChar || (!unicode.IsPrint(r) && !unicode.IsSpace(r)):
			continue
		case unicode.IsSpace(r):
			space = sb.Len() > 0
			continue
		}
		if space {
			if sb.Len()+1 > n {
				break
			}
			sb.WriteByte(' ')
			space = false
		}
		if sb.Len()+len(string(r)) > n {
			break
		}
		sb.WriteRune(r)
	}
	return sb.String()
}
