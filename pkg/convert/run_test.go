package convert

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func rp(name string) string {
	return "apiVersion: storage.kubestash.com/v1alpha1\nkind: RetentionPolicy\nmetadata: {name: " + name + "}\nspec: {successfulSnapshots: {last: 1}}\n"
}

// TestRunDirectory: a directory is its .yaml, .yml and .json files, sorted
// by name, not its other files nor its subdirectories.
func TestRunDirectory(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"b.yaml":        rp("b"),
		"a.yml":         rp("a"),
		"c.JSON":        `{"apiVersion": "storage.kubestash.com/v1alpha1", "kind": "RetentionPolicy", "metadata": {"name": "c"}}`,
		"README.md":     rp("readme"),
		"sub/d.yaml":    rp("d"),
		"kustomization": rp("k"),
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	if err := Run([]string{dir}, &out, &errb); err != nil {
		t.Fatalf("Run: %v\n%s", err, errb.String())
	}
	var names []string
	for _, line := range strings.Split(out.String(), "\n") {
		if n, ok := strings.CutPrefix(line, "  name: "); ok {
			names = append(names, n)
		}
	}
	if got := strings.Join(names, ","); got != "a,b,c" {
		t.Fatalf("converted %s, want a,b,c\n%s", got, out.String())
	}
}

// TestRunStdinAndErrors: "-" reads stdin; a missing path and a broken file
// are reported and make Run return an IncompleteError, and what did
// convert is still written.
func TestRunStdinAndErrors(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteString(rp("from-stdin")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	old := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = old }()

	broken := filepath.Join(t.TempDir(), "broken.yaml")
	if err := os.WriteFile(broken, []byte("kind: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	err = Run([]string{"-", filepath.Join(t.TempDir(), "missing.yaml"), broken}, &out, &errb)
	var inc *IncompleteError
	if !errors.As(err, &inc) || inc.Unreadable != 2 || inc.Refused != 0 {
		t.Fatalf("Run = %v, want 2 unreadable\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "name: from-stdin") || !strings.Contains(out.String(), "(-:1)") {
		t.Errorf("stdin not converted:\n%s", out.String())
	}
	for _, want := range []string{"missing.yaml: no such file", "broken.yaml: not YAML or JSON"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
}

// TestRunEmptyDirectory: a directory without inputs is an error, not an
// empty success.
func TestRunEmptyDirectory(t *testing.T) {
	var out, errb bytes.Buffer
	err := Run([]string{t.TempDir()}, &out, &errb)
	var inc *IncompleteError
	if !errors.As(err, &inc) || !strings.Contains(errb.String(), "no .yaml, .yml or .json files") {
		t.Fatalf("Run = %v\n%s", err, errb.String())
	}
}
