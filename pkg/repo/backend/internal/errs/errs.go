// Package errs holds the sentinel errors that the backend package and its
// cloud openers share, so an opener's refusal of a URL or of credentials
// reaches callers of backend.Open as backend.ErrInvalid without the opener
// importing backend (which imports it).
package errs

import "errors"

// ErrInvalid means a URL, a URL parameter or the credentials given are
// malformed or contradict each other: only a change of configuration helps.
var ErrInvalid = errors.New("invalid storage configuration")

// ErrNoCredentials means no credentials were found where the provider's
// default chain looks; the backend reports it as a permission error.
var ErrNoCredentials = errors.New("no credentials found")
