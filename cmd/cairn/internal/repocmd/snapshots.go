package repocmd

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
	"github.com/cairnbackup/cairn/pkg/repo"
)

// snapshotFilter narrows snapshot lists by host, tag and path; shared by
// snapshots, forget and the choice of a backup's parent.
type snapshotFilter struct {
	hosts, tags, paths []string
}

func (f *snapshotFilter) register(fs *pflag.FlagSet) {
	fs.StringSliceVar(&f.hosts, "host", nil, "only snapshots from this host (repeatable)")
	fs.StringSliceVar(&f.tags, "tag", nil, "only snapshots with this tag (repeatable; all must match)")
	fs.StringSliceVar(&f.paths, "path", nil, "only snapshots of exactly these paths (repeatable)")
}

func (f *snapshotFilter) match(sn *repo.Snapshot) bool {
	if len(f.hosts) > 0 && !contains(f.hosts, sn.Hostname) {
		return false
	}
	for _, t := range f.tags {
		if !sn.HasTag(t) {
			return false
		}
	}
	if len(f.paths) > 0 && !sameSet(f.paths, sn.Paths) {
		return false
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !contains(b, x) {
			return false
		}
	}
	return true
}

func init() {
	register("snapshots", &command{
		summary: "list snapshots, oldest first",
		flags: func(fs *pflag.FlagSet, e *env) {
			f := &snapshotFilter{}
			f.register(fs)
			e.cmd = f
		},
		run: runSnapshots,
	})
}

// snapshotJSON is the JSON form of a snapshot in listings.
type snapshotJSON struct {
	ID       string             `json:"id"`
	ShortID  string             `json:"short_id"`
	Time     time.Time          `json:"time"`
	Hostname string             `json:"hostname"`
	Username string             `json:"username,omitempty"`
	Paths    []string           `json:"paths"`
	Tags     []string           `json:"tags,omitempty"`
	Tree     string             `json:"tree"`
	Parent   string             `json:"parent,omitempty"`
	Stats    repo.SnapshotStats `json:"stats"`
}

func toJSON(sn *repo.Snapshot) snapshotJSON {
	j := snapshotJSON{
		ID: sn.ID.String(), ShortID: sn.ID.Short(), Time: sn.Time, Hostname: sn.Hostname,
		Username: sn.Username, Paths: sn.Paths, Tags: sn.Tags, Tree: sn.Tree.String(), Stats: sn.Stats,
	}
	if !sn.Parent.IsZero() {
		j.Parent = sn.Parent.String()
	}
	return j
}

func runSnapshots(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		return cli.Usagef("snapshots takes no arguments, got %q", joinArgs(args))
	}
	f := e.cmd.(*snapshotFilter)
	r, err := openRepo(ctx, e)
	if err != nil {
		return err
	}
	defer r.Close()
	all, err := listSnapshots(ctx, e, r)
	if err != nil {
		return err
	}
	var list []snapshotJSON
	for _, sn := range all {
		if f.match(sn) {
			list = append(list, toJSON(sn))
		}
	}
	if list == nil {
		list = []snapshotJSON{}
	}
	return e.out.Result(list, func(w io.Writer) {
		t := cli.Table(w)
		fmt.Fprintln(t, "ID\tTime\tHost\tTags\tPaths\tSize")
		for _, s := range list {
			fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ShortID, s.Time.Local().Format("2006-01-02 15:04:05"),
				s.Hostname, strings.Join(s.Tags, ","), strings.Join(s.Paths, " "), cli.Bytes(int64(s.Stats.Bytes)))
		}
		t.Flush()
		fmt.Fprintf(w, "%d snapshots\n", len(list))
	})
}

// listSnapshots lists the readable snapshots and warns about each one
// that cannot be read, saying how to remove it.
func listSnapshots(ctx context.Context, e *env, r *repo.Repository) ([]*repo.Snapshot, error) {
	all, damaged, err := r.ListSnapshots(ctx)
	if err != nil {
		return nil, classify(err)
	}
	warnDamaged(e, damaged)
	return all, nil
}

// warnDamaged reports snapshots skipped because they cannot be read.
func warnDamaged(e *env, damaged []*repo.DamagedSnapshot) {
	for _, d := range damaged {
		e.out.Warnf("skipped damaged snapshot %s (%v); `cairn repo forget %s` removes it", d.ID.Short(), d.Err, d.ID.Short())
	}
}

// findSnapshot resolves an ID prefix or "latest" (narrowed by the filter).
func findSnapshot(ctx context.Context, e *env, r *repo.Repository, arg string, f *snapshotFilter) (*repo.Snapshot, error) {
	if arg == "latest" {
		all, err := listSnapshots(ctx, e, r)
		if err != nil {
			return nil, err
		}
		for i := len(all) - 1; i >= 0; i-- {
			if f == nil || f.match(all[i]) {
				return all[i], nil
			}
		}
		if len(all) == 0 {
			return nil, fmt.Errorf("%w: the repository has no snapshots", repo.ErrNoSnapshot)
		}
		return nil, fmt.Errorf("%w: the repository has %d snapshots, none with the given host/tag/path", repo.ErrNoSnapshot, len(all))
	}
	id, err := r.FindSnapshot(ctx, arg)
	if err != nil {
		return nil, classify(err)
	}
	sn, err := r.LoadSnapshot(ctx, id)
	return sn, classify(err)
}
