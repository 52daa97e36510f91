package archiver

import (
	"syscall"

	"github.com/cairnbackup/cairn/pkg/repo/tree"
)

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
