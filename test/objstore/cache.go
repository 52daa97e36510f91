package objstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrNotBuilt is wrapped by the Start functions when an emulator is missing
// from the tool cache (`make tools-storage` builds it).
var ErrNotBuilt = errors.New("not built")

// Pinned versions of the object-store emulators. hack/mk/storage.mk builds
// exactly these (a test keeps the two in step), so a version bump here and
// there makes `make tools` rebuild instead of silently reusing an old binary.
const (
	// MinIOVersion is the github.com/minio/minio module version (the project
	// publishes pseudo-versions only, no semver tags).
	MinIOVersion = "v0.0.0-20260212201848-7aac2a2c5b7c"
	// FakeGCSVersion is the github.com/fsouza/fake-gcs-server module version.
	FakeGCSVersion = "v1.56.1"
	// AzuriteVersion is the npm version of Microsoft's Azurite emulator.
	AzuriteVersion = "3.37.0"
)

// CacheDir returns the tool cache shared by the Makefile and the harness:
// $CAIRN_CACHE, else $HOME/.cache/cairn. It lives outside the repository so a
// fresh clone on the same machine reuses built binaries.
func CacheDir() (string, error) {
	if dir := os.Getenv("CAIRN_CACHE"); dir != "" {
		return dir, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("objstore: cannot locate the tool cache: set CAIRN_CACHE or HOME (%v)", err)
	}
	return filepath.Join(home, ".cache", "cairn"), nil
}

// toolPath returns the cached path of a tool, or an error that tells the user
// in one line which binary is missing and how to get it.
func toolPath(rel string) (string, error) {
	dir, err := CacheDir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, rel)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("objstore: %s is %w (%s missing): run `make tools-storage` (or `make tools`)", filepath.Base(rel), ErrNotBuilt, p)
	}
	return p, nil
}

// minioBinary returns the cached MinIO server binary.
func minioBinary() (string, error) { return toolPath(filepath.Join("bin", "minio-"+MinIOVersion)) }

// fakeGCSBinary returns the cached fake-gcs-server binary.
func fakeGCSBinary() (string, error) {
	return toolPath(filepath.Join("bin", "fake-gcs-server-"+FakeGCSVersion))
}

// azuriteBlobScript returns the cached azurite-blob launcher installed by npm.
func azuriteBlobScript() (string, error) {
	return toolPath(filepath.Join("azurite-"+AzuriteVersion, "node_modules", ".bin", "azurite-blob"))
}
