package archiver

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"time"

	"github.com/cairnbackup/cairn/pkg/chunker"
	"github.com/cairnbackup/cairn/pkg/repo"
)

// SnapshotOptions describe the manifest a backup writes.
type SnapshotOptions struct {
	// Hostname recorded in the snapshot; default os.Hostname.
	Hostname string
	Tags     []string
	// Parent is the snapshot used to skip unchanged files; nil for none.
	Parent *repo.Snapshot
}

// Backup runs a backup of opts.Paths into r and saves the snapshot. It is
// the one entry point shared by the CLI and the in-cluster runner.
func Backup(ctx context.Context, r *repo.Repository, opts Options, so SnapshotOptions) (*repo.Snapshot, Stats, error) {
	ck, err := chunker.New(r.ChunkerSeed(), chunker.DefaultParams)
	if err != nil {
		return nil, Stats{}, err
	}
	start := time.Now()
	username := ""
	if u, err := user.Current(); err == nil {
		username = u.Username
	}
	if so.Parent != nil {
		opts.ParentTree = so.Parent.Tree
		skipped := so.Parent.Stats.XattrsSkipped
		opts.ParentXattrs = skipped != nil && *skipped == 0 && so.Parent.Username == username
	}
	res, err := Run(ctx, r, ck, opts)
	if err != nil {
		return nil, res.Stats, err
	}
	host := so.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	sn := &repo.Snapshot{
		Time:     start,
		Hostname: host,
		Paths:    AbsPaths(opts.Paths),
		Tags:     so.Tags,
		Tree:     res.Tree,
	}
	sn.Username = username
	if so.Parent != nil {
		sn.Parent = so.Parent.ID
	}
	st := res.Stats
	xattrsSkipped := uint64(st.XattrsSkipped)
	sn.Stats = repo.SnapshotStats{
		Start:          start,
		End:            time.Now(),
		Files:          uint64(st.FilesRead + st.FilesUnchanged),
		Dirs:           uint64(st.Dirs),
		Bytes:          uint64(st.BytesRead + st.BytesUnchanged),
		NewFiles:       uint64(st.FilesRead - st.FilesChanged),
		ChangedFiles:   uint64(st.FilesChanged),
		UnchangedFiles: uint64(st.FilesUnchanged),
		AddedBytes:     uint64(st.BytesAdded),
		StoredBytes:    uint64(st.BytesStored),
		Errors:         uint64(st.Warnings),
		XattrsSkipped:  &xattrsSkipped,
	}
	id, err := r.SaveSnapshot(ctx, sn)
	if err != nil {
		return nil, st, fmt.Errorf("save snapshot: %w", err)
	}
	sn.ID = id
	return sn, st, nil
}

// AbsPaths returns the paths made absolute and cleaned, sorted, as they
// are recorded in snapshots and compared when looking for a parent.
func AbsPaths(paths []string) []string {
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		out = append(out, p)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// FindParent returns the newest snapshot of the same host and paths, the
// natural parent for an incremental backup, or nil.
func FindParent(snapshots []*repo.Snapshot, host string, paths []string) *repo.Snapshot {
	want := AbsPaths(paths)
	var best *repo.Snapshot
	for _, sn := range snapshots {
		if sn.Hostname != host || !slices.Equal(AbsPaths(sn.Paths), want) {
			continue
		}
		if best == nil || sn.Time.After(best.Time) {
			best = sn
		}
	}
	return best
}
