// Package driver is a small CSI driver for Cairn's test cluster. Volumes are
// directories on the node, snapshots are full copies of a volume's
// directory, and pods get a volume by bind mount. It implements the parts of
// CSI the snapshot tests need (create/delete/clone volumes, snapshots and
// restores from them, node publish) with real data, so a test can write a
// file, snapshot the volume and find the file again in a restored PVC.
package driver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// volume is the persisted record of one CSI volume.
type volume struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Capacity int64  `json:"capacity"`
	// Source records what the volume was created from ("snapshot:<id>",
	// "volume:<id>" or empty), so a repeated CreateVolume can be checked.
	Source string `json:"source,omitempty"`
}

// snapshot is the persisted record of one CSI snapshot.
type snapshot struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	SourceVolume string `json:"sourceVolume"`
	CreatedNanos int64  `json:"createdNanos"`
	Size         int64  `json:"size"`
}

// store keeps volumes and snapshots under one root directory:
// volumes/<id>/ and snapshots/<id>/ hold data, meta/ holds the JSON records,
// so the driver survives a restart without losing track of anything.
type store struct {
	root      string
	mu        sync.Mutex
	volumes   map[string]*volume
	snapshots map[string]*snapshot
}

// openStore loads (or creates) the store at root.
func openStore(root string) (*store, error) {
	s := &store{root: root, volumes: map[string]*volume{}, snapshots: map[string]*snapshot{}}
	for _, d := range []string{"volumes", "snapshots", "meta"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return nil, fmt.Errorf("driver state %s: %w", root, err)
		}
	}
	entries, err := os.ReadDir(filepath.Join(root, "meta"))
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(root, "meta", e.Name()))
		if err != nil {
			return nil, err
		}
		switch filepath.Ext(e.Name()) {
		case ".vol":
			v := &volume{}
			if err := json.Unmarshal(b, v); err != nil {
				return nil, fmt.Errorf("driver state: corrupt record %s: %w", e.Name(), err)
			}
			s.volumes[v.ID] = v
		case ".snap":
			sn := &snapshot{}
			if err := json.Unmarshal(b, sn); err != nil {
				return nil, fmt.Errorf("driver state: corrupt record %s: %w", e.Name(), err)
			}
			s.snapshots[sn.ID] = sn
		}
	}
	return s, nil
}

func (s *store) volumeDir(id string) string   { return filepath.Join(s.root, "volumes", id) }
func (s *store) snapshotDir(id string) string { return filepath.Join(s.root, "snapshots", id) }

// writeRecord persists rec atomically as meta/<id><ext>.
func (s *store) writeRecord(id, ext string, rec any) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	p := filepath.Join(s.root, "meta", id+ext)
	if err := os.WriteFile(p+".tmp", b, 0o644); err != nil {
		return err
	}
	return os.Rename(p+".tmp", p)
}

// removeRecord deletes meta/<id><ext>; a missing record is not an error.
func (s *store) removeRecord(id, ext string) error {
	err := os.Remove(filepath.Join(s.root, "meta", id+ext))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// volumeByName and snapshotByName find records by their CSI request name.
func (s *store) volumeByName(name string) *volume {
	for _, v := range s.volumes {
		if v.Name == name {
			return v
		}
	}
	return nil
}

func (s *store) snapshotByName(name string) *snapshot {
	for _, sn := range s.snapshots {
		if sn.Name == name {
			return sn
		}
	}
	return nil
}

// sortedSnapshots returns all snapshots in a stable order for paging.
func (s *store) sortedSnapshots() []*snapshot {
	out := make([]*snapshot, 0, len(s.snapshots))
	for _, sn := range s.snapshots {
		out = append(out, sn)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// copyTree copies the regular files, directories and symlinks of src into
// dst (which must not exist) and returns the number of file bytes copied.
func copyTree(src, dst string) (int64, error) {
	var total int64
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm())
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case info.Mode().IsRegular():
			n, err := copyFile(p, target, info.Mode().Perm())
			total += n
			return err
		default:
			return nil // sockets, devices and fifos are not volume data
		}
	})
	return total, err
}

// copyFile copies one regular file with its permission bits.
func copyFile(src, dst string, perm fs.FileMode) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}
