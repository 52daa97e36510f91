//go:build tools

// Package tools pins the fake-gcs-server version used by the test harness,
// in its own module so its Google Cloud dependencies stay out of Cairn's.
package tools

import _ "github.com/fsouza/fake-gcs-server"
