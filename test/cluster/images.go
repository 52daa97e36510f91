package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Image describes an image to build from local files with BuildImage.
type Image struct {
	// Tag is the reference pods use, e.g. "cairn.local/smoke:dev". Pods must
	// use imagePullPolicy Never or IfNotPresent: there is no registry.
	Tag string
	// Files maps host files to absolute paths in the image.
	Files map[string]string
	// Symlinks maps image paths to link targets.
	Symlinks map[string]string
	// Entrypoint is the command the container runs.
	Entrypoint []string
	// Cmd is the default argument list (the command when Entrypoint is
	// empty), replaced by a pod's args.
	Cmd []string
	// Env holds KEY=VALUE entries.
	Env []string
}

// RepoRoot returns the root of the Cairn checkout (the directory holding
// go.mod), found from this source file or, failing that, from `go env GOMOD`.
func RepoRoot() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
		if _, err := os.Stat(filepath.Join(root, "hack", "tools", "images", "go.mod")); err == nil {
			return root, nil
		}
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if mod := strings.TrimSpace(string(out)); err == nil && mod != "" && mod != os.DevNull {
		return filepath.Dir(mod), nil
	}
	return "", fmt.Errorf("cannot find the Cairn checkout: run from inside the repository")
}

// GoBuild compiles a static linux/amd64 binary of pkg (a package path inside
// the module rooted at modDir) to out. Go's build cache makes repeated builds
// cheap.
func GoBuild(ctx context.Context, modDir, pkg, out string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, pkg)
	cmd.Dir = modDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s (in %s): %v\n%s", pkg, modDir, err, b)
	}
	return nil
}

// BuildImage writes img as an OCI image tarball into dir and returns its
// path. It uses the cairn-image tool of hack/tools/images.
func BuildImage(ctx context.Context, dir string, img Image) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	toolDir := filepath.Join(root, "hack", "tools", "images")
	tool := filepath.Join(dir, "cairn-image")
	if err := GoBuild(ctx, toolDir, ".", tool); err != nil {
		return "", err
	}
	out := filepath.Join(dir, strings.NewReplacer("/", "_", ":", "_").Replace(img.Tag)+".tar")
	args := []string{"--tag", img.Tag, "--out", out}
	for src, dst := range img.Files {
		args = append(args, "--file", src+":"+dst)
	}
	for dst, target := range img.Symlinks {
		args = append(args, "--symlink", dst+":"+target)
	}
	for _, e := range img.Entrypoint {
		args = append(args, "--entrypoint", e)
	}
	for _, e := range img.Cmd {
		args = append(args, "--cmd", e)
	}
	for _, e := range img.Env {
		args = append(args, "--env", e)
	}
	if b, err := exec.CommandContext(ctx, tool, args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("build image %s: %v: %s", img.Tag, err, strings.TrimSpace(string(b)))
	}
	return out, nil
}

// importImage loads an image tarball into containerd's k8s.io namespace,
// where the kubelet looks for images.
func importImage(ctx context.Context, ctr, socket, tarPath string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, ctr, "--address", socket, "--namespace", "k8s.io",
		"images", "import", "--platform", "linux/amd64", tarPath).CombinedOutput()
	if err != nil {
		return fmt.Errorf("import image %s into containerd: %v: %s", tarPath, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// buildPauseImage builds the pod sandbox image from hack/tools/images/pause.
func buildPauseImage(ctx context.Context, dir string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "pause")
	if err := GoBuild(ctx, filepath.Join(root, "hack", "tools", "images"), "./pause", bin); err != nil {
		return "", err
	}
	return BuildImage(ctx, dir, Image{Tag: PauseImage, Files: map[string]string{bin: "/pause"}, Entrypoint: []string{"/pause"}})
}

// BusyboxImage is a shell image built from Debian's static busybox, for
// helper pods (the local-path provisioner's) and scripted test jobs.
const BusyboxImage = "cairn.local/busybox:1"

// buildBusyboxImage makes BusyboxImage with /bin/busybox and a symlink for
// every applet busybox lists. Like Docker's busybox image it has no
// entrypoint, so a pod's args are the command.
func buildBusyboxImage(ctx context.Context, dir string) (string, error) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return "", fmt.Errorf("busybox not found: run `make tools` (or apt-get install -y busybox-static)")
	}
	out, err := exec.CommandContext(ctx, bb, "--list").Output()
	if err != nil {
		return "", fmt.Errorf("busybox --list: %w", err)
	}
	links := map[string]string{}
	for _, applet := range strings.Fields(string(out)) {
		if applet != "busybox" && !strings.Contains(applet, "/") {
			links["/bin/"+applet] = "busybox"
		}
	}
	return BuildImage(ctx, dir, Image{Tag: BusyboxImage, Files: map[string]string{bb: "/bin/busybox"},
		Symlinks: links, Cmd: []string{"/bin/sh"}})
}
