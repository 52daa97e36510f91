package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/pkg/progress"
)

func TestParseSize(t *testing.T) {
	good := map[string]int64{"0": 0, "512": 512, "64MiB": 64 << 20, "1G": 1 << 30, "512k": 512 << 10, "2 gib": 2 << 30, "10MB": 10e6}
	for in, want := range good {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "12XB", "1.5G", "MiB"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}

func TestPasswordSources(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pw")
	os.WriteFile(file, []byte("from-file\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)

	t.Setenv(EnvPassword, "from-env")
	t.Setenv(EnvPasswordFile, "")
	o := &RepoOptions{}
	if p, err := o.Password(context.Background(), nil); err != nil || p != "from-env" {
		t.Fatalf("env: %q %v", p, err)
	}
	t.Setenv(EnvPasswordFile, file)
	if p, err := o.Password(context.Background(), nil); err != nil || p != "from-file" {
		t.Fatalf("env file must win over env password: %q %v", p, err)
	}
	o.PasswordFile = empty
	if _, err := o.Password(context.Background(), nil); CodeOf(err) != ExitUsage {
		t.Fatalf("empty password file: %v", err)
	}
	o.PasswordFile = filepath.Join(dir, "missing")
	if _, err := o.Password(context.Background(), nil); CodeOf(err) != ExitUsage {
		t.Fatalf("missing password file: %v", err)
	}
}

func TestLocation(t *testing.T) {
	t.Setenv(EnvRepository, "")
	o := &RepoOptions{}
	if _, err := o.Location(); CodeOf(err) != ExitUsage {
		t.Fatalf("no repository: %v", err)
	}
	o.Repo = "/srv/backup"
	if loc, _ := o.Location(); loc != "file:///srv/backup" {
		t.Fatalf("plain path became %q", loc)
	}
	o.Repo = "s3://bucket/prefix?region=x"
	if loc, _ := o.Location(); loc != o.Repo {
		t.Fatalf("URL changed to %q", loc)
	}
}

func TestCodes(t *testing.T) {
	if CodeOf(nil) != ExitOK || CodeOf(errors.New("x")) != ExitFailure {
		t.Fatal("default codes")
	}
	wrapped := errors.Join(errors.New("context"), WithCode(ExitDamaged, errors.New("bad pack")))
	if CodeOf(wrapped) != ExitDamaged {
		t.Fatal("a wrapped code must survive")
	}
	if WithCode(ExitDamaged, nil) != nil {
		t.Fatal("WithCode(nil) must be nil")
	}
}

func TestFormatting(t *testing.T) {
	if Bytes(1536) != "1.5 KiB" || Bytes(3<<30) != "3.0 GiB" || Bytes(12) != "12 B" {
		t.Fatalf("Bytes: %s %s %s", Bytes(1536), Bytes(3<<30), Bytes(12))
	}
	if Truncate("abcdef", 4) != "abc…" || Truncate("ab", 4) != "ab" {
		t.Fatal("Truncate")
	}
}

func TestProgressBar(t *testing.T) {
	var b strings.Builder
	bar := &ProgressBar{W: &b, Verb: "backup"}
	bar.Update(progress.Status{BytesDone: 512 << 20, BytesTotal: 1 << 30, FilesDone: 3, FilesTotal: 8,
		TotalsKnown: true, BytesPerSecond: 100 << 20, ETA: 5 * time.Second, Errors: 1})
	line := b.String()
	for _, want := range []string{"\r[", " 50.0% ", "512.0 MiB / 1.0 GiB", "3 / 8 files", "100.0 MiB/s", "ETA 0:05", "1 warnings"} {
		if !strings.Contains(line, want) {
			t.Errorf("progress line %q lacks %q", line, want)
		}
	}
	b.Reset()
	bar.Update(progress.Status{BytesDone: 1, Done: true})
	if out := b.String(); !strings.Contains(out, "[backup]") || !strings.HasSuffix(out, "\n") || len(out) < len(line) {
		t.Errorf("final line %q: want the verb, padding over the old line and a newline", out)
	}
}

// TestReadLineStopsAtTheNewline: the prompt reads exactly one line (so a
// following answer stays unread), drops a carriage return, and accepts a
// last line without a newline.
func TestReadLineStopsAtTheNewline(t *testing.T) {
	r := strings.NewReader("first\r\nsecond\nlast")
	for _, want := range []string{"first", "second", "last"} {
		got, err := readLine(r)
		if err != nil || string(got) != want {
			t.Fatalf("readLine = %q, %v; want %q", got, err, want)
		}
	}
	if _, err := readLine(r); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last line: %v, want EOF", err)
	}
}
