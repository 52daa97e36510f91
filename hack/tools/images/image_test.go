package main

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestBuildImage writes a real tarball and reads it back the way an importer
// would: platform, entrypoint, file contents, symlinks and parent dirs.
func TestBuildImage(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "app")
	if err := os.WriteFile(bin, []byte("#!binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "img.tar")
	err := run([]string{"--tag", "cairn.local/app:dev", "--out", out, "--file", bin + ":/usr/bin/app",
		"--symlink", "/bin/app:/usr/bin/app", "--entrypoint", "/usr/bin/app", "--entrypoint", "serve", "--env", "A=b"})
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("cairn.local/app:dev")
	img, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("platform %s/%s, want linux/amd64 (containerd drops images without it)", cf.OS, cf.Architecture)
	}
	if strings.Join(cf.Config.Entrypoint, " ") != "/usr/bin/app serve" {
		t.Errorf("entrypoint %q", cf.Config.Entrypoint)
	}
	if !strings.Contains(strings.Join(cf.Config.Env, ","), "A=b") {
		t.Errorf("env %q lacks A=b", cf.Config.Env)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %d, %v; want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got := map[string]*tar.Header{}
	contents := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h
		b, _ := io.ReadAll(tr)
		contents[h.Name] = string(b)
	}
	if h := got["usr/bin/app"]; h == nil || h.Mode&0o111 == 0 || contents["usr/bin/app"] != "#!binary" {
		t.Errorf("usr/bin/app missing, not executable or wrong content: %+v", h)
	}
	if h := got["bin/app"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "/usr/bin/app" {
		t.Errorf("bin/app symlink wrong: %+v", h)
	}
	for _, d := range []string{"usr/", "usr/bin/", "bin/", "tmp/"} {
		if h := got[d]; h == nil || h.Typeflag != tar.TypeDir {
			t.Errorf("directory %s missing", d)
		}
	}
}

// TestBuildImageReproducible checks that the same inputs give the same image
// ID, so re-imports are no-ops for containerd.
func TestBuildImageReproducible(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "app")
	if err := os.WriteFile(bin, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, o := range []string{"a.tar", "b.tar"} {
		out := filepath.Join(dir, o)
		if err := run([]string{"--tag", "x.local/a:1", "--out", out, "--file", bin + ":/app", "--entrypoint", "/app"}); err != nil {
			t.Fatal(err)
		}
		img, err := tarball.ImageFromPath(out, nil)
		if err != nil {
			t.Fatal(err)
		}
		id, err := img.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id.String())
	}
	if ids[0] != ids[1] {
		t.Errorf("image IDs differ: %s vs %s", ids[0], ids[1])
	}
}

// TestBadInput checks that each kind of wrong input is refused with a
// message that says what to write instead.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "app")
	if err := os.WriteFile(bin, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "o.tar")
	cases := map[string]struct {
		args []string
		want string
	}{
		"no tag":        {[]string{"--out", out, "--file", bin + ":/app"}, "--tag and --out are required"},
		"no file":       {[]string{"--tag", "a.local/b:1", "--out", out}, "no --file given"},
		"relative dst":  {[]string{"--tag", "a.local/b:1", "--out", out, "--file", bin + ":app"}, "must be absolute"},
		"no colon":      {[]string{"--tag", "a.local/b:1", "--out", out, "--file", bin}, "want HOST_PATH:IMAGE_PATH"},
		"root dst":      {[]string{"--tag", "a.local/b:1", "--out", out, "--file", bin + ":/"}, "names the root"},
		"missing src":   {[]string{"--tag", "a.local/b:1", "--out", out, "--file", dir + "/nope:/app"}, "no such file"},
		"directory src": {[]string{"--tag", "a.local/b:1", "--out", out, "--file", dir + ":/app"}, "not a regular file"},
		"twice":         {[]string{"--tag", "a.local/b:1", "--out", out, "--file", bin + ":/app", "--file", bin + ":/app"}, "given twice"},
		"bad tag":       {[]string{"--tag", "UPPER:case:x", "--out", out, "--file", bin + ":/app"}, "not valid"},
		"bad symlink":   {[]string{"--tag", "a.local/b:1", "--out", out, "--file", bin + ":/app", "--symlink", "/x"}, "want IMAGE_PATH:TARGET"},
	}
	for name, c := range cases {
		err := run(c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want error containing %q", name, err, c.want)
		}
	}
}

// TestContentTag checks that --repo tags an image with a hash of its
// content: the same files give the same tag, a changed file or setting a new
// one, so a Deployment naming the tag rolls out exactly when the image
// changed.
func TestContentTag(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "app")
	build := func(content string, extra ...string) string {
		t.Helper()
		if err := os.WriteFile(bin, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "img.tar")
		s := spec{repo: "cairn.local/app", out: out, entries: []entry{{dst: "/app", src: bin}}, user: "65532:65532"}
		s.env = extra
		ref, err := writeImage(s)
		if err != nil {
			t.Fatal(err)
		}
		tag, err := name.NewTag(ref)
		if err != nil {
			t.Fatalf("%q is not a tag: %v", ref, err)
		}
		img, err := tarball.ImageFromPath(out, &tag)
		if err != nil {
			t.Fatalf("the tarball does not hold %s: %v", ref, err)
		}
		id, err := img.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		if want := "cairn.local/app:" + id.Hex[:16]; ref != want {
			t.Fatalf("reference %s, want %s (the image ID's prefix)", ref, want)
		}
		return ref
	}
	a := build("one")
	if again := build("one"); again != a {
		t.Errorf("same content, different tags: %s, %s", a, again)
	}
	if b := build("two"); b == a {
		t.Errorf("changed file kept tag %s", a)
	}
	if c := build("one", "X=1"); c == a {
		t.Errorf("changed environment kept tag %s", a)
	}
	for _, args := range [][]string{
		{"--repo", "a.local/b", "--tag", "a.local/b:1", "--out", filepath.Join(dir, "o.tar"), "--file", bin + ":/app"},
		{"--repo", "a.local/b:1", "--out", filepath.Join(dir, "o.tar"), "--file", bin + ":/app"},
	} {
		if err := run(args); err == nil {
			t.Errorf("run %q succeeded; want an error", args)
		}
	}
}
