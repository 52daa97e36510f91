package s3

import (
	"os"
	"path/filepath"
	"testing"
)

// WriteFile writes a test file and returns its path.
var WriteFile = writeFile

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
