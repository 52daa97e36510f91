package fsfixture

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuildAndCompare(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := Build(src, 3<<20); err != nil {
		t.Fatal(err)
	}
	if err := Compare(src, src); err != nil {
		t.Fatalf("a tree must equal itself: %v", err)
	}
	cp := filepath.Join(dir, "copy")
	if out, err := exec.Command("cp", "-a", "--sparse=always", src, cp).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	if err := Compare(src, cp); err != nil {
		t.Fatalf("cp -a copy differs: %v", err)
	}
	// A changed byte, a changed mode and an extra file are all reported.
	os.Chmod(filepath.Join(dir, "copy/ro"), 0o755)
	if err := os.WriteFile(filepath.Join(cp, "small.txt"), []byte("hello, cairN\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(cp, "empty"), 0o644)
	os.WriteFile(filepath.Join(cp, "extra"), nil, 0o644)
	err := Compare(src, cp)
	if err == nil {
		t.Fatal("differences not reported")
	}
	for _, want := range []string{"small.txt", "empty: mode", "extra"} {
		if !contains(err.Error(), want) {
			t.Errorf("report %q does not mention %q", err, want)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
