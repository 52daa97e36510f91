// Package safetext makes text that a server (or anything posing as one)
// sent fit to print in an error message: one line, printable, bounded, and
// without anything shaped like a credential or a signature.
package safetext

import (
	"regexp"
	"strings"
	"unicode"
)

// secretPattern matches what an echoing proxy or a debugging server might
// send back from a request: SigV4 signatures and credentials, session
// tokens, bearer tokens, secret-key-shaped strings.
var secretPattern = regexp.MustCompile(`(?i)(signature=|credential=|x-amz-security-token[=:]\s*|bearer\s+|<(?:SecretAccessKey|SessionToken|Token|StringToSign(?:Bytes)?|CanonicalRequest(?:Bytes)?|SignatureProvided)>)[^\s<,&"]*`)

// Line redacts secrets, collapses whitespace, drops control and invalid
// characters and cuts s to at most n bytes.
func Line(s string, n int) string {
	s = secretPattern.ReplaceAllString(s, "${1}REDACTED")
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
