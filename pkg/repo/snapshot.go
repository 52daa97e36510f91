package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

// Snapshot is the manifest of one backup: what was backed up, from where,
// when, and the root tree. It is the only thing that makes data reachable.
type Snapshot struct {
	// ID is the object ID, set by SaveSnapshot and the loaders.
	ID       ID        `json:"-"`
	Time     time.Time `json:"time"`
	Hostname string    `json:"hostname"`
	Username string    `json:"username,omitempty"`
	// Paths are the backed-up source paths, as given by the user.
	Paths []string `json:"paths"`
	Tags  []string `json:"tags,omitempty"`
	// Tree references the root directory (see package tree).
	Tree ID `json:"tree"`
	// Parent is the snapshot used for incremental change detection, if any.
	Parent ID            `json:"parent,omitzero"`
	Stats  SnapshotStats `json:"stats"`
}

// SnapshotStats records what a backup did; filled by the archiver.
type SnapshotStats struct {
	Start          time.Time `json:"start"`
	End            time.Time `json:"end"`
	Files          uint64    `json:"files"`
	Dirs           uint64    `json:"dirs"`
	Bytes          uint64    `json:"bytes"` // logical size of all files
	NewFiles       uint64    `json:"new_files"`
	ChangedFiles   uint64    `json:"changed_files"`
	UnchangedFiles uint64    `json:"unchanged_files"`
	AddedBytes     uint64    `json:"added_bytes"`  // plaintext of new blobs
	StoredBytes    uint64    `json:"stored_bytes"` // stored size of new blobs
	Errors         uint64    `json:"errors"`       // files skipped with an error
	// XattrsSkipped counts extended attributes that could not be read and
	// are missing from the snapshot; nil in snapshots written before it was
	// recorded. A child backup reuses an unchanged file's attributes only
	// when it is 0.
	XattrsSkipped *uint64 `json:"xattrs_skipped,omitempty"`
}

// HasTag reports whether the snapshot carries tag.
func (s *Snapshot) HasTag(tag string) bool {
	for _, t := range s.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

// SaveSnapshot makes a backup visible. Call Flush first so that everything
// the tree references is indexed. If a prune planned since this handle was
// opened condemned packs holding blobs the snapshot uses, those blobs are
// copied to new packs first, so the snapshot never depends on data that
// prune will delete.
func (r *Repository) SaveSnapshot(ctx context.Context, sn *Snapshot) (ID, error) {
	if sn.Tree.IsZero() {
		return ID{}, errors.New("save snapshot: no root tree")
	}
	if sn.Time.IsZero() {
		sn.Time = time.Now()
	}
	if err := r.Flush(ctx); err != nil {
		return ID{}, err
	}
	if err := r.protect(ctx, sn.Tree); err != nil {
		return ID{}, fmt.Errorf("save snapshot: %w", err)
	}
	plain, err := json.Marshal(sn)
	if err != nil {
		return ID{}, err
	}
	id, err := r.saveSealed(ctx, SnapshotsPrefix, plain)
	if err != nil {
		return ID{}, fmt.Errorf("save snapshot: %w", err)
	}
	sn.ID = id
	return id, nil
}

// LoadSnapshot reads one snapshot manifest.
func (r *Repository) LoadSnapshot(ctx context.Context, id ID) (*Snapshot, error) {
	plain, err := r.LoadSealed(ctx, SnapshotsPrefix, id)
	if err != nil {
		return nil, err
	}
	return ParseSnapshot(id, plain)
}

// ParseSnapshot decodes a snapshot manifest's plaintext.
func ParseSnapshot(id ID, plain []byte) (*Snapshot, error) {
	var sn Snapshot
	if err := json.Unmarshal(plain, &sn); err != nil {
		return nil, fmt.Errorf("%s%s: %w: %v", SnapshotsPrefix, id, ErrCorrupt, err)
	}
	if sn.Tree.IsZero() {
		return nil, fmt.Errorf("%s%s: %w: snapshot has no root tree", SnapshotsPrefix, id, ErrCorrupt)
	}
	sn.ID = id
	return &sn, nil
}

// DamagedSnapshot names a snapshot object that exists but cannot be read
// back (it fails authentication or does not decode). Err wraps ErrCorrupt.
type DamagedSnapshot struct {
	ID  ID
	Err error
}

// Error names the object and says what is wrong with it.
func (d *DamagedSnapshot) Error() string { return d.Err.Error() }

// Unwrap lets errors.Is find ErrCorrupt.
func (d *DamagedSnapshot) Unwrap() error { return d.Err }

// ListSnapshots loads every readable snapshot, oldest first. A snapshot
// object that is damaged is not fatal: it is skipped and returned in
// damaged, so one bad object does not stop backups from finding a parent,
// listings, forget or restores of other snapshots. Storage errors (not
// found aside) still fail the whole listing: a snapshot that merely could
// not be fetched must never look absent.
func (r *Repository) ListSnapshots(ctx context.Context) (snaps []*Snapshot, damaged []*DamagedSnapshot, err error) {
	ids, err := r.ListIDs(ctx, SnapshotsPrefix)
	if err != nil {
		return nil, nil, fmt.Errorf("list snapshots: %w", err)
	}
	snaps = make([]*Snapshot, 0, len(ids))
	for _, id := range ids {
		sn, err := r.LoadSnapshot(ctx, id)
		switch {
		case errors.Is(err, backend.ErrNotFound):
			continue // forgotten since the listing
		case errors.Is(err, ErrCorrupt):
			damaged = append(damaged, &DamagedSnapshot{ID: id, Err: err})
			continue
		case err != nil:
			return nil, nil, err
		}
		snaps = append(snaps, sn)
	}
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].Time.Before(snaps[j].Time) })
	return snaps, damaged, nil
}

// FindSnapshot resolves a unique hex prefix of a snapshot ID, or "latest".
func (r *Repository) FindSnapshot(ctx context.Context, prefix string) (ID, error) {
	ids, err := r.ListIDs(ctx, SnapshotsPrefix)
	if err != nil {
		return ID{}, err
	}
	if prefix == "latest" {
		sns, _, err := r.ListSnapshots(ctx)
		if err != nil {
			return ID{}, err
		}
		if len(sns) == 0 {
			return ID{}, fmt.Errorf("%w: the repository has no snapshots", ErrNoSnapshot)
		}
		return sns[len(sns)-1].ID, nil
	}
	var match []ID
	for _, id := range ids {
		if strings.HasPrefix(id.String(), strings.ToLower(prefix)) {
			match = append(match, id)
		}
	}
	switch len(match) {
	case 0:
		return ID{}, fmt.Errorf("%w: no snapshot has ID %q", ErrNoSnapshot, prefix)
	case 1:
		return match[0], nil
	}
	return ID{}, fmt.Errorf("snapshot %w: %q matches %d snapshots", ErrAmbiguousID, prefix, len(match))
}

// DeleteSnapshot removes a snapshot manifest; its data stays until prune.
func (r *Repository) DeleteSnapshot(ctx context.Context, id ID) error {
	return r.be.Delete(ctx, SnapshotsPrefix+id.String())
}
