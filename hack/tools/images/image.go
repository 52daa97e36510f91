package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// spec is everything that defines one image.
type spec struct {
	tag        string
	repo       string
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
//
// With s.repo set instead of s.tag, the tag is derived from the image's
// content (see contentTag). It returns the reference written.
func writeImage(s spec) (string, error) {
	img, err := buildImage(s)
	if err != nil {
		return "", err
	}
	tag := s.tag
	if s.repo != "" {
		if tag, err = contentTag(s.repo, img); err != nil {
			return "", err
		}
	}
	ref, err := name.NewTag(tag, name.WeakValidation)
	if err != nil {
		return "", fmt.Errorf("image tag %q is not valid (want e.g. cairn.local/pause:1): %w", tag, err)
	}
	if err := tarball.WriteToFile(s.out, ref, img); err != nil {
		return "", fmt.Errorf("write %s: %w", s.out, err)
	}
	return ref.String(), nil
}

// contentTag is repo:<the first 16 hex digits of img's ID>. The ID hashes the
// config, which names every layer by the digest of its content, so the tag
// changes exactly when a file, the entrypoint, the user or the environment
// does: a node that has the tag has these bytes, and a Deployment that names
// a new tag rolls out (unlike :latest, which makes kubelets pull).
func contentTag(repo string, img v1.Image) (string, error) {
	if strings.ContainsAny(repo, ":@") {
		return "", fmt.Errorf("--repo %q must be a repository without a tag or digest, e.g. cairn.local/cairn", repo)
	}
	id, err := img.ConfigName()
	if err != nil {
		return "", fmt.Errorf("hash the image config: %w", err)
	}
	return repo + ":" + id.Hex[:16], nil
}

// buildImage assembles the single-layer image of s in memory.
func buildImage(s spec) (v1.Image, error) {
	data, err := buildLayer(s.entries)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("make layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, fmt.Errorf("append layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
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
		return nil, fmt.Errorf("set config: %w", err)
	}
	return img, nil
}
