// Package imagecheck holds the test that keeps the repository's Dockerfile
// building the image `make image` builds without Docker (hack/mk/deploy.mk):
// the same go build command (flags, tags, ldflags, packages), the same files
// at the same paths, user and entrypoint, and a Go release of go.mod's minor
// version. No Docker engine is needed: it compares the two recipes' text.
package imagecheck
