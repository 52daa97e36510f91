//go:build tools

// Package tools pins the MinIO server version used by the test harness.
// It is a separate module so MinIO's large dependency graph never touches
// the main module's go.mod.
package tools

import _ "github.com/minio/minio"
