package main

import (
	"bytes"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// spec is everything that defines one image.
type spec struct {
	tag        string
	out        string
	entries    []entry
	entrypoint []string
	cmd        []string
	env        []string
	workdir    string
	user       string
}

// writeImage builds a single-layer linux/amd64 image from s and writes it as a
// docker-archive tarball that `ctr images import` accepts. The platform must be
// set: containerd's import drops images without one.
func writeImage(s spec) error {
	ref, err := name.NewTag(s.tag, name.WeakValidation)
	if err != nil {
		return fmt.Errorf("image tag %q is not valid (want e.g. cairn.local/pause:1): %w", s.tag, err)
	}
	data, err := buildLayer(s.entries)
	if err != nil {
		return err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		return fmt.Errorf("make layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return fmt.Errorf("append layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = "amd64", "linux"
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Entrypoint = s.entrypoint
	cf.Config.Cmd = s.cmd
	cf.Config.Env = append([]string{"PATH=/usr/local/bin:/usr/bin:/bin"}, s.env...)
	cf.Config.WorkingDir = s.workdir
	cf.Config.User = s.user
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return fmt.Errorf("set config: %w", err)
	}
	if err := tarball.WriteToFile(s.out, ref, img); err != nil {
		return fmt.Errorf("write %s: %w", s.out, err)
	}
	return nil
}
