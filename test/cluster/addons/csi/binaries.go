package csi

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/cairnbackup/cairn/test/cluster/addons"
)

// binaries are the cached programs and CRDs Install runs and applies.
type binaries struct {
	driver, provisioner, controller, snapshotter string
	crdDir                                       string
}

// findBinaries locates everything in the tool cache, or says in one line
// what to build.
func findBinaries() (binaries, error) {
	var b binaries
	hash, err := toolSourceHash()
	if err != nil {
		return b, err
	}
	for _, t := range []struct {
		dst *string
		rel string
	}{
		{&b.driver, "bin/cairn-csi-driver-" + hash},
		{&b.provisioner, "bin/cairn-csi-provisioner-" + hash},
		{&b.controller, "bin/snapshot-controller-" + SnapshotterVersion},
		{&b.snapshotter, "bin/csi-snapshotter-" + SnapshotterVersion},
		{&b.crdDir, "snapshot-crds-" + SnapshotterVersion},
	} {
		if *t.dst, err = addons.Tool(t.rel); err != nil {
			return b, err
		}
	}
	return b, nil
}

// toolSourceHash identifies the sources of hack/tools/csi the way
// hack/mk/storage.mk (CSI_SRC_HASH) does: SHA-256 over the contents of every
// non-test .go, go.mod and go.sum file in byte-sorted path order, first 16
// hex digits.
// A changed driver thus gets a new cached binary instead of a stale one.
func toolSourceHash() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot locate the Cairn checkout to find hack/tools/csi")
	}
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "hack", "tools", "csi")
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		isSource := strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")
		if d.Type().IsRegular() && (isSource || name == "go.mod" || name == "go.sum") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("read hack/tools/csi sources: %w", err)
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
