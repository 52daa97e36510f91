package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/cairnbackup/cairn/test/objstore"
)

const demoBucket = "cairn-demo"

// startMinIO starts MinIO on addr with the demo's bucket.
func startMinIO(ctx context.Context, addr string) (*objstore.Server, error) {
	step("Starting MinIO on %s (S3)", addr)
	minio, err := objstore.StartMinIO(ctx, addr)
	if err != nil {
		return nil, err
	}
	if err := minio.CreateBucket(ctx, demoBucket); err != nil {
		_ = minio.Stop()
		return nil, err
	}
	fmt.Printf("    endpoint %s, bucket %s\n", minio.Endpoint, demoBucket)
	return minio, nil
}

// showCLI backs up a generated directory into MinIO with the cairn CLI on
// this host, changes it, backs it up again, restores the latest snapshot and
// proves the restore equals the source.
func showCLI(ctx context.Context, cairnBin, work string, minio *objstore.Server) error {
	step("The cairn CLI on this host, no cluster needed: the same engine against the same bucket")

	src := filepath.Join(work, "app-data")
	if err := makeDataset(src); err != nil {
		return err
	}
	repo := fmt.Sprintf("s3://%s/cli-demo?endpoint=%s&region=%s&use_path_style=true", demoBucket, minio.Endpoint, minio.Region)
	pwFile := filepath.Join(work, "password")
	if err := os.WriteFile(pwFile, randomPassword(), 0o600); err != nil {
		return err
	}
	env := append(os.Environ(),
		"CAIRN_REPOSITORY="+repo,
		"CAIRN_PASSWORD_FILE="+pwFile,
		"AWS_ACCESS_KEY_ID="+minio.AccessKey,
		"AWS_SECRET_ACCESS_KEY="+minio.SecretKey,
	)
	cairn := func(args ...string) error {
		fmt.Printf("    $ cairn %s\n", strings.Join(args, " "))
		cmd := exec.CommandContext(ctx, cairnBin, args...)
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = indent(os.Stdout), indent(os.Stderr)
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("cairn %s: %w", strings.Join(args, " "), err)
		}
		return nil
	}

	step("Creating an encrypted repository in the bucket and backing up %s", src)
	if err := cairn("repo", "init"); err != nil {
		return err
	}
	if err := cairn("repo", "backup", "--tag", "demo", src); err != nil {
		return err
	}

	step("Changing one file and backing up again: only the change is read and stored")
	if err := os.WriteFile(filepath.Join(src, "config", "settings.yaml"), []byte("replicas: 3\nmode: changed\n"), 0o644); err != nil {
		return err
	}
	if err := cairn("repo", "backup", "--tag", "demo", src); err != nil {
		return err
	}
	if err := cairn("repo", "snapshots"); err != nil {
		return err
	}

	step("Restoring the latest snapshot and comparing it with the source")
	dst := filepath.Join(work, "restored")
	if err := cairn("repo", "restore", "--target", dst, "latest"); err != nil {
		return err
	}
	restored := filepath.Join(dst, src)
	if err := compareTrees(src, restored); err != nil {
		return fmt.Errorf("the restore differs from the source: %w", err)
	}
	fmt.Println("    restored tree is identical to the source (contents, modes, symlinks)")

	step("Checking the repository and showing what deduplication saved")
	if err := cairn("repo", "check", "--read-data"); err != nil {
		return err
	}
	if err := cairn("repo", "stats"); err != nil {
		return err
	}
	return nil
}

// makeDataset writes a small application tree: many small text files, one
// larger binary file, a symlink.
func makeDataset(dir string) error {
	for i := 0; i < 200; i++ {
		sub := filepath.Join(dir, "logs", fmt.Sprintf("day-%02d", i%20))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		line := fmt.Sprintf("request %d served in %d ms\n", i, i%17)
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("app-%03d.log", i)), bytes.Repeat([]byte(line), 50), 0o644); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "config"), 0o750); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "config", "settings.yaml"), []byte("replicas: 1\n"), 0o600); err != nil {
		return err
	}
	blob := make([]byte, 24<<20)
	if _, err := rand.Read(blob); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "database.bin"), blob, 0o640); err != nil {
		return err
	}
	return os.Symlink("config/settings.yaml", filepath.Join(dir, "current-settings"))
}

// compareTrees walks want and checks that got has the same entries with the
// same type, permissions, contents and symlink targets.
func compareTrees(want, got string) error {
	return filepath.WalkDir(want, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(want, path)
		other := filepath.Join(got, rel)
		wi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		gi, err := os.Lstat(other)
		if err != nil {
			return fmt.Errorf("%s: missing in the restore: %w", rel, err)
		}
		if wi.Mode() != gi.Mode() {
			return fmt.Errorf("%s: mode %v, want %v", rel, gi.Mode(), wi.Mode())
		}
		switch {
		case wi.Mode()&fs.ModeSymlink != 0:
			a, _ := os.Readlink(path)
			b, _ := os.Readlink(other)
			if a != b {
				return fmt.Errorf("%s: symlink to %q, want %q", rel, b, a)
			}
		case wi.Mode().IsRegular():
			a, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			b, err := os.ReadFile(other)
			if err != nil {
				return err
			}
			if !bytes.Equal(a, b) {
				return fmt.Errorf("%s: contents differ", rel)
			}
		}
		return nil
	})
}

func randomPassword() []byte {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return []byte(fmt.Sprintf("%x\n", b))
}

// indentWriter prefixes each line the cairn CLI prints, so the demo's own
// narration stands out.
type indentWriter struct {
	w       *os.File
	midLine bool
}

func indent(w *os.File) *indentWriter { return &indentWriter{w: w} }

func (iw *indentWriter) Write(p []byte) (int, error) {
	var out bytes.Buffer
	for _, c := range p {
		if !iw.midLine {
			out.WriteString("      ")
		}
		out.WriteByte(c)
		iw.midLine = c != '\n' && c != '\r'
	}
	if _, err := iw.w.Write(out.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}
