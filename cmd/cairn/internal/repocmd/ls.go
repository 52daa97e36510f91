package repocmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/ident"
	"github.com/cairnbackup/cairn/pkg/repo/tree"
)

type lsFlags struct {
	long bool
}

func init() {
	register("ls", &command{
		summary: "list the files in a snapshot (below PATH if given)",
		usage:   "SNAPSHOT [PATH]",
		flags: func(fs *pflag.FlagSet, e *env) {
			f := &lsFlags{}
			fs.BoolVarP(&f.long, "long", "l", false, "show mode, owner, size and mtime")
			e.cmd = f
		},
		run: runLs,
	})
}

// lsEntry is one line of `ls --json` (newline-delimited JSON, so a huge
// snapshot streams instead of building one document).
type lsEntry struct {
	Path    string    `json:"path"`
	Type    string    `json:"type"`
	Mode    string    `json:"mode"`
	UID     uint32    `json:"uid"`
	GID     uint32    `json:"gid"`
	Size    uint64    `json:"size"`
	ModTime time.Time `json:"mtime"`
	Target  string    `json:"target,omitempty"`
}

func runLs(ctx context.Context, e *env, args []string) error {
	f := e.cmd.(*lsFlags)
	if len(args) < 1 || len(args) > 2 {
		return cli.Usagef("ls needs SNAPSHOT and optionally a PATH inside it")
	}
	prefix := "/"
	if len(args) == 2 {
		prefix = path.Clean("/" + args[1])
	}
	r, err := openRepo(ctx, e)
	if err != nil {
		return err
	}
	defer r.Close()
	sn, err := findSnapshot(ctx, e, r, args[0], nil)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(e.out.Stdout)
	found := prefix == "/"
	err = walkTree(ctx, r, sn.Tree, "/", func(p string, n *tree.Node) (bool, error) {
		inside := p == prefix || strings.HasPrefix(p, prefix+"/") || prefix == "/"
		above := strings.HasPrefix(prefix, p+"/")
		if !inside {
			return above, nil
		}
		found = true
		ent := lsEntry{Path: p, Type: n.Type.String(), Mode: modeString(n), UID: n.UID, GID: n.GID,
			Size: n.Size, ModTime: time.Unix(0, n.ModTime), Target: n.LinkTarget}
		if e.opts.JSON {
			return true, enc.Encode(ent)
		}
		if f.long {
			_, err := fmt.Fprintf(e.out.Stdout, "%s %5d %5d %12d %s %s%s\n", ent.Mode, ent.UID, ent.GID, ent.Size,
				ent.ModTime.Local().Format("2006-01-02 15:04:05"), p, linkSuffix(n))
			return true, err
		}
		_, err := fmt.Fprintln(e.out.Stdout, p)
		return true, err
	})
	if err != nil {
		return classify(err)
	}
	if !found {
		return fmt.Errorf("%s is not in snapshot %s", prefix, sn.ID.Short())
	}
	return nil
}

// walkTree calls fn for every node below root in depth-first name order;
// fn returns whether to descend into a directory.
func walkTree(ctx context.Context, r *repo.Repository, root ident.ID, dir string, fn func(string, *tree.Node) (bool, error)) error {
	rd := tree.NewReader(r, root)
	for {
		n, err := rd.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read directory %s of the snapshot: %w", dir, err)
		}
		p := path.Join(dir, n.Name)
		descend, err := fn(p, n)
		if err != nil {
			return err
		}
		if descend && n.Type == tree.Dir {
			if err := walkTree(ctx, r, n.Subtree, p, fn); err != nil {
				return err
			}
		}
	}
}

func modeString(n *tree.Node) string {
	m := fs.FileMode(n.Mode & 0o777)
	if n.Mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if n.Mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if n.Mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	switch n.Type {
	case tree.Dir:
		m |= fs.ModeDir
	case tree.Symlink:
		m |= fs.ModeSymlink
	case tree.FIFO:
		m |= fs.ModeNamedPipe
	case tree.Socket:
		m |= fs.ModeSocket
	case tree.CharDevice:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case tree.BlockDevice:
		m |= fs.ModeDevice
	}
	return m.String()
}

func linkSuffix(n *tree.Node) string {
	if n.Type == tree.Symlink {
		return " -> " + n.LinkTarget
	}
	return ""
}
