package archiver

import (
	"path/filepath"
	"sync/atomic"
	"syscall"

	"github.com/cairnbackup/cairn/pkg/fsutil"
	"github.com/cairnbackup/cairn/pkg/repo/tree"
)

// nodeReader builds the tree nodes of one backup: the metadata lstat
// returned plus the file's extended attributes. Attributes that cannot be
// read are left out of the snapshot and counted, not treated as a failed
// file, so a backup of a tree with one unreadable security label still
// saves every file's data.
type nodeReader struct {
	// xattrsSkipped counts attributes left out (for Stats.XattrsSkipped).
	xattrsSkipped atomic.Int64
}

// node returns the tree node for the file at path, lstat'ed as st. It never
// follows a symlink: a symlink's node carries the link's own attributes.
func (nr *nodeReader) node(path string, st *syscall.Stat_t) tree.Node {
	n := nodeFromStat(filepath.Base(path), st)
	nr.addXattrs(path, &n)
	return n
}

// testHookReadXattrs, when set by a test, is called for every file whose
// extended attributes are read.
var testHookReadXattrs func(path string)

// addXattrs reads the extended attributes of the file at path into n.
func (nr *nodeReader) addXattrs(path string, n *tree.Node) {
	if testHookReadXattrs != nil {
		testHookReadXattrs(path)
	}
	attrs, skipped, err := fsutil.ReadXattrs(path)
	if err != nil {
		nr.xattrsSkipped.Add(1)
		return
	}
	nr.xattrsSkipped.Add(int64(len(skipped)))
	if len(attrs) > 0 {
		n.Xattrs = make([]tree.Xattr, len(attrs))
		for i, a := range attrs {
			n.Xattrs[i] = tree.Xattr{Name: a.Name, Value: a.Value}
		}
	}
}

// nodeFromStat fills a tree node with the metadata lstat returned. Access
// times are left out on purpose: reading a directory updates its atime, so
// recording it would make every backup's trees differ and defeat the reuse
// of unchanged subtrees.
func nodeFromStat(name string, st *syscall.Stat_t) tree.Node {
	n := tree.Node{
		Name:       name,
		Mode:       st.Mode & 0o7777,
		UID:        st.Uid,
		GID:        st.Gid,
		ModTime:    st.Mtim.Nano(),
		ChangeTime: st.Ctim.Nano(),
		Inode:      st.Ino,
		DeviceID:   uint64(st.Dev),
		Links:      uint64(st.Nlink),
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFREG:
		n.Type = tree.File
		n.Size = uint64(st.Size)
	case syscall.S_IFDIR:
		n.Type = tree.Dir
	case syscall.S_IFLNK:
		n.Type = tree.Symlink
	case syscall.S_IFIFO:
		n.Type = tree.FIFO
	case syscall.S_IFSOCK:
		n.Type = tree.Socket
	case syscall.S_IFCHR:
		n.Type = tree.CharDevice
		n.Rdev = uint64(st.Rdev)
	case syscall.S_IFBLK:
		n.Type = tree.BlockDevice
		n.Rdev = uint64(st.Rdev)
	}
	return n
}

// unchanged reports whether a file can reuse the parent snapshot's content
// without being read: same type, size, mtime, ctime and inode.
func unchanged(prev, cur *tree.Node) bool {
	return prev.Type == tree.File && cur.Type == tree.File &&
		prev.Size == cur.Size && prev.Inode == cur.Inode &&
		prev.ModTime == cur.ModTime && prev.ChangeTime == cur.ChangeTime
}
