package maint

import (
	"context"
	"fmt"
	"io"

	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/repo/tree"
)

// Stats describes how much a repository holds and how well it dedups.
type Stats struct {
	Snapshots int `json:"snapshots"`
	// Files and LogicalBytes add up every snapshot's files: what restoring
	// every snapshot would write.
	Files        uint64 `json:"files"`
	LogicalBytes uint64 `json:"logical_bytes"`
	// Unique* count each referenced blob once.
	UniqueBlobs       int    `json:"unique_blobs"`
	UniqueRawBytes    uint64 `json:"unique_raw_bytes"`
	UniqueStoredBytes uint64 `json:"unique_stored_bytes"`
	// Packs and StoredBytes are everything in storage, referenced or not.
	Packs       int   `json:"packs"`
	StoredBytes int64 `json:"stored_bytes"`
	// DedupRatio is LogicalBytes / unique file data; CompressionRatio is
	// unique plaintext / its stored size.
	DedupRatio       float64 `json:"dedup_ratio"`
	CompressionRatio float64 `json:"compression_ratio"`
}

// ComputeStats walks every snapshot (sizes of shared subtrees are computed
// once) and sums the index.
func ComputeStats(ctx context.Context, r *repo.Repository) (*Stats, error) {
	refs, snaps, _, err := references(ctx, r)
	if err != nil {
		return nil, err
	}
	st := &Stats{Snapshots: len(snaps)}
	memo := map[repo.ID]dirTotals{}
	for _, sn := range snaps {
		t, err := dirSize(ctx, r, sn.Tree, memo, 0)
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", sn.ID.Short(), err)
		}
		st.Files += t.files
		st.LogicalBytes += t.bytes
	}
	var dataRaw uint64
	for _, t := range []repo.BlobType{repo.DataBlob, repo.TreeBlob} {
		for id := range refs[t] {
			loc, ok := r.Index().Lookup(t, id)
			if !ok {
				continue
			}
			st.UniqueBlobs++
			st.UniqueRawBytes += uint64(loc.RawLength)
			st.UniqueStoredBytes += uint64(loc.Length)
			if t == repo.DataBlob {
				dataRaw += uint64(loc.RawLength)
			}
		}
	}
	err = r.ListPacks(ctx, func(_ repo.ID, o backend.Object) error {
		st.Packs++
		st.StoredBytes += o.Size
		return nil
	})
	if err != nil {
		return nil, err
	}
	if dataRaw > 0 {
		st.DedupRatio = float64(st.LogicalBytes) / float64(dataRaw)
	}
	if st.UniqueStoredBytes > 0 {
		st.CompressionRatio = float64(st.UniqueRawBytes) / float64(st.UniqueStoredBytes)
	}
	return st, nil
}

type dirTotals struct{ files, bytes uint64 }

func dirSize(ctx context.Context, r *repo.Repository, ref repo.ID, memo map[repo.ID]dirTotals, depth int) (dirTotals, error) {
	if t, ok := memo[ref]; ok {
		return t, nil
	}
	if depth > 4096 {
		return dirTotals{}, fmt.Errorf("tree %s: directories nested deeper than 4096 (cyclic tree?)", ref)
	}
	var total dirTotals
	rd := tree.NewReader(r, ref)
	for {
		n, err := rd.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return total, err
		}
		switch n.Type {
		case tree.File:
			total.files++
			total.bytes += n.Size
		case tree.Dir:
			sub, err := dirSize(ctx, r, n.Subtree, memo, depth+1)
			if err != nil {
				return total, err
			}
			total.files += sub.files
			total.bytes += sub.bytes
		}
	}
	memo[ref] = total
	return total, nil
}
