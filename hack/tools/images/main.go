// Command cairn-image turns static binaries into OCI image tarballs without a
// Docker engine or a registry, so that the local test cluster can import them
// into containerd (`ctr images import`). Images are single-layer,
// linux/amd64, with fixed timestamps so the same inputs give the same image.
//
//	cairn-image --tag cairn.local/pause:1 --out pause.tar \
//	    --file ./pause:/pause --entrypoint /pause
//
// With --repo instead of --tag the tag is derived from the image's content
// and the reference is printed, for images that change with every build:
//
//	cairn-image --repo cairn.local/cairn --out cairn.tar --file ./cairn:/cairn ...
//	cairn.local/cairn:3f9c0a6be1d24c57
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "cairn-image:", err)
		os.Exit(1)
	}
}

// run parses the command line into a spec and writes the image.
func run(args []string) error {
	fs := flag.NewFlagSet("cairn-image", flag.ContinueOnError)
	var s spec
	var files, links, dirs, entrypoint, cmd, env listFlag
	fs.StringVar(&s.tag, "tag", "", "image reference to record in the tarball, e.g. cairn.local/app:dev (this or --repo)")
	fs.StringVar(&s.repo, "repo", "", "repository, e.g. cairn.local/app: tag the image with a hash of its content and print the reference (this or --tag)")
	fs.StringVar(&s.out, "out", "", "tarball to write (required)")
	fs.Var(&files, "file", "HOST:IMAGE_PATH copies a host file into the image (repeatable)")
	fs.Var(&links, "symlink", "IMAGE_PATH:TARGET creates a symlink (repeatable)")
	fs.Var(&dirs, "dir", "IMAGE_PATH creates an empty world-writable directory (repeatable)")
	fs.Var(&entrypoint, "entrypoint", "one entrypoint argument (repeatable, in order)")
	fs.Var(&cmd, "cmd", "one default command argument (repeatable, in order)")
	fs.Var(&env, "env", "KEY=VALUE environment variable (repeatable)")
	fs.StringVar(&s.workdir, "workdir", "", "working directory")
	fs.StringVar(&s.user, "user", "", "user (uid[:gid]) the entrypoint runs as")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (s.tag == "") == (s.repo == "") || s.out == "" {
		return fmt.Errorf("--tag and --out are required (or --repo instead of --tag, not both); run with -h for usage")
	}
	if len(files) == 0 {
		return fmt.Errorf("no --file given; an image needs at least one file (its entrypoint binary)")
	}
	s.entrypoint, s.cmd, s.env = entrypoint, cmd, env
	var err error
	if s.entries, err = parseEntries(files, links, dirs); err != nil {
		return err
	}
	ref, err := writeImage(s)
	if err == nil && s.repo != "" {
		fmt.Println(ref)
	}
	return err
}

// parseEntries turns the --file, --symlink and --dir values into layer entries.
func parseEntries(files, links, dirs []string) ([]entry, error) {
	var out []entry
	for _, f := range files {
		src, dst, ok := strings.Cut(f, ":")
		if !ok || src == "" {
			return nil, fmt.Errorf("--file %q: want HOST_PATH:IMAGE_PATH, e.g. ./bin/app:/app", f)
		}
		p, err := cleanImagePath(dst)
		if err != nil {
			return nil, fmt.Errorf("--file %q: %w", f, err)
		}
		out = append(out, entry{dst: p, src: src})
	}
	for _, l := range links {
		dst, target, ok := strings.Cut(l, ":")
		if !ok || target == "" {
			return nil, fmt.Errorf("--symlink %q: want IMAGE_PATH:TARGET, e.g. /bin/sh:busybox", l)
		}
		p, err := cleanImagePath(dst)
		if err != nil {
			return nil, fmt.Errorf("--symlink %q: %w", l, err)
		}
		out = append(out, entry{dst: p, target: target})
	}
	for _, d := range dirs {
		p, err := cleanImagePath(d)
		if err != nil {
			return nil, fmt.Errorf("--dir %q: %w", d, err)
		}
		out = append(out, entry{dst: p, dir: true, mode: 0o1777})
	}
	return out, nil
}
