package csi

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestSourceHashMatchesMakefile checks that Install looks for the driver
// binaries under the same name `make tools-storage` builds them as.
func TestSourceHashMatchesMakefile(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..", "..")
	out, err := exec.Command("make", "-s", "--no-print-directory", "-C", root, "storage-print-csi-hash").Output()
	if err != nil {
		t.Fatalf("make storage-print-csi-hash: %v", err)
	}
	got, err := toolSourceHash()
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(out)); got != want || len(got) != 16 {
		t.Fatalf("Go source hash %q, Makefile hash %q: they must agree", got, want)
	}
}

func TestMissingToolsNameTheFix(t *testing.T) {
	t.Setenv("CAIRN_CACHE", t.TempDir())
	_, err := findBinaries()
	if err == nil || !strings.Contains(err.Error(), "make tools-storage") {
		t.Fatalf("findBinaries with an empty cache: %v; want a hint to run make tools-storage", err)
	}
}
