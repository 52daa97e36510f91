//go:build tools

// Package codegen records the code generator that hack/update-codegen.sh
// runs, so that go.mod pins its version and `go mod tidy` keeps it.
package codegen

import _ "k8s.io/code-generator"
