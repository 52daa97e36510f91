package runner

import (
	"context"
	"io/fs"
	"path/filepath"
	"slices"
	"syscall"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/fsfilter"
)

// MaxOwners bounds each list of a component's status.owners: a restore only
// needs to know whether its own user and groups cover every file, and a
// volume of many users must not make the Snapshot large.
const MaxOwners = 16

// ownerSet collects distinct user and group IDs, at most MaxOwners of each.
type ownerSet struct {
	uids, gids map[uint32]bool
	truncated  bool
}

func newOwnerSet() *ownerSet {
	return &ownerSet{uids: map[uint32]bool{}, gids: map[uint32]bool{}}
}

// add records one file's owner.
func (s *ownerSet) add(uid, gid uint32) {
	s.put(s.uids, uid)
	s.put(s.gids, gid)
}

func (s *ownerSet) put(m map[uint32]bool, id uint32) {
	if m[id] {
		return
	}
	if len(m) == MaxOwners {
		s.truncated = true
		return
	}
	m[id] = true
}

// full reports that both lists are full and more IDs were seen: walking
// further changes nothing.
func (s *ownerSet) full() bool {
	return s.truncated && len(s.uids) == MaxOwners && len(s.gids) == MaxOwners
}

// status is the set as a component's status.owners.
func (s *ownerSet) status() *storagev1.FileOwners {
	ids := func(m map[uint32]bool) []int64 {
		out := make([]int64, 0, len(m))
		for id := range m {
			out = append(out, int64(id))
		}
		slices.Sort(out)
		return out
	}
	return &storagev1.FileOwners{UIDs: ids(s.uids), GIDs: ids(s.gids), Truncated: s.truncated}
}

// scanOwners finds the owners of everything below paths that filter keeps,
// as the backup stores them (symlinks themselves, not their targets), and
// of paths that are files. It
// runs beside the backup; the entries it reads are the ones the backup
// reads, so they come from the kernel's caches. It returns nil when ctx
// ended first: an incomplete set must not be recorded, since a restore
// would then miss owners it has to set. Entries it cannot read are left
// to the backup, which reports them.
func scanOwners(ctx context.Context, paths []string, filter *fsfilter.Filter) *storagev1.FileOwners {
	set := newOwnerSet()
	for _, root := range paths {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil || filter.Excluded(path) {
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if !d.IsDir() && !filter.Included(path) || path == root && d.IsDir() {
				// A backed-up directory itself is a volume's mount point:
				// its owner is Kubernetes' (fsGroup, the provisioner), not
				// the application's, and a restore leaves it alone.
				return nil
			}
			var st syscall.Stat_t
			if syscall.Lstat(path, &st) == nil {
				set.add(st.Uid, st.Gid)
			}
			if set.full() {
				return fs.SkipAll
			}
			return nil
		})
		if err != nil {
			return nil
		}
		if set.full() {
			break
		}
	}
	return set.status()
}

// ownerScan runs scanOwners in the background.
type ownerScan struct {
	done   chan struct{}
	owners *storagev1.FileOwners
}

// startOwnerScan starts scanning; wait returns the result.
func startOwnerScan(ctx context.Context, paths []string, filter *fsfilter.Filter) *ownerScan {
	s := &ownerScan{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.owners = scanOwners(ctx, paths, filter)
	}()
	return s
}

// wait returns the owners found, nil if the scan was cut short.
func (s *ownerScan) wait() *storagev1.FileOwners {
	<-s.done
	return s.owners
}
