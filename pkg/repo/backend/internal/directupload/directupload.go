// Package directupload is how a cloud opener hands the backend a way to
// store a whole object from the caller's slice in one request. gocloud's
// writers copy what they are given into part or block buffers (the S3
// transfer manager reads a 15 MiB pack into a fresh slice before sending
// it); the SDK clients behind them can send a seekable body as it is. The
// backend's Put uses the Func when the opener gave one and the key needs
// none of the drivers' escaping, and a blob.Writer otherwise.
package directupload

import (
	"context"
	"strings"
)

// Func writes data as the object key, only if no object of that name
// exists. Its errors are the SDK's own, which the backend classifies.
type Func func(ctx context.Context, key string, data []byte) error

// Plain reports whether every gocloud driver stores key under its own
// name: only ASCII letters, digits and "/_.-", no empty, "." or ".."
// segment, and no "__" (which could read as the start of an escape).
// The repository's keys ("data/ab/<hex>", "config", ...) all are.
func Plain(key string) bool {
	if key == "" || strings.Contains(key, "__") {
		return false
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("/_.-", c) >= 0) {
			return false
		}
	}
	return true
}
