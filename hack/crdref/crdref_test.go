package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReferenceIsCurrent: docs/crd-reference.md is what the CRDs say now.
func TestReferenceIsCurrent(t *testing.T) {
	root := filepath.Join("..", "..")
	want, err := render(filepath.Join(root, "deploy", "crds"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "docs", "crd-reference.md"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatal("docs/crd-reference.md is stale: run `go run ./hack/crdref`")
	}
	for _, field := range []string{"`spec.sessions[].scheduler.schedule`", "`spec.storage.s3.bucket`", "`status.pausedBackups`"} {
		if !strings.Contains(want, field) {
			t.Errorf("reference lacks %s", field)
		}
	}
}
