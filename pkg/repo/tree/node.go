// Package tree defines how directories are stored: each directory is a
// sequence of Nodes in name order, cut into bounded-size tree blobs. Small
// directories are one leaf blob; large ones get index blobs above their
// leaves, so a directory with a million entries is written and read page by
// page and never sits in memory whole.
package tree

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/cairnbackup/cairn/pkg/repo/ident"
)

// NodeType is the kind of file-system object a Node describes.
type NodeType uint8

// Node types.
const (
	File NodeType = iota + 1
	Dir
	Symlink
	BlockDevice
	CharDevice
	FIFO
	Socket
)

var typeNames = [...]string{"", "file", "dir", "symlink", "blockdev", "chardev", "fifo", "socket"}

// String returns a short lower-case name such as "file" or "dir".
func (t NodeType) String() string {
	if int(t) < len(typeNames) && t != 0 {
		return typeNames[t]
	}
	return fmt.Sprintf("nodetype(%d)", uint8(t))
}

// Extent is a byte range of a file.
type Extent struct {
	Offset uint64
	Length uint64
}

// Xattr is one extended attribute.
type Xattr struct {
	Name  string
	Value []byte
}

// Node is one directory entry with everything needed to restore it
// faithfully and to detect on the next backup whether it changed.
//
// For regular files Content lists the chunk IDs of the file's data in order,
// skipping the ranges listed in Holes (sorted, non-overlapping), which are
// restored as holes. A file with no Holes is Content in full.
// Hardlinks are recognised by equal (DeviceID, Inode) with Links > 1.
type Node struct {
	Name string
	Type NodeType
	// Mode holds permission bits plus setuid/setgid/sticky (Unix st_mode & 07777).
	Mode     uint32
	UID, GID uint32
	Size     uint64
	// Times in nanoseconds since the Unix epoch.
	ModTime, ChangeTime, AccessTime int64
	Inode                           uint64
	DeviceID                        uint64 // st_dev of the file system holding the node
	Links                           uint64
	Rdev                            uint64 // device number, for device nodes
	LinkTarget                      string // for symlinks
	Content                         []ident.ID
	Subtree                         ident.ID // for directories
	Holes                           []Extent
	Xattrs                          []Xattr
}

// Limits on decoded values, so hostile input cannot make us allocate much.
const (
	maxNameLen  = 4096
	maxValueLen = 64 << 10
)

// AppendNode appends the binary encoding of n to buf.
func AppendNode(buf []byte, n *Node) []byte {
	buf = appendString(buf, n.Name)
	buf = binary.AppendUvarint(buf, uint64(n.Type))
	for _, v := range []uint64{uint64(n.Mode), uint64(n.UID), uint64(n.GID), n.Size} {
		buf = binary.AppendUvarint(buf, v)
	}
	for _, v := range []int64{n.ModTime, n.ChangeTime, n.AccessTime} {
		buf = binary.AppendVarint(buf, v)
	}
	for _, v := range []uint64{n.Inode, n.DeviceID, n.Links, n.Rdev} {
		buf = binary.AppendUvarint(buf, v)
	}
	buf = appendString(buf, n.LinkTarget)
	buf = binary.AppendUvarint(buf, uint64(len(n.Content)))
	for _, id := range n.Content {
		buf = append(buf, id[:]...)
	}
	if n.Subtree.IsZero() {
		buf = append(buf, 0)
	} else {
		buf = append(buf, 1)
		buf = append(buf, n.Subtree[:]...)
	}
	buf = binary.AppendUvarint(buf, uint64(len(n.Holes)))
	for _, h := range n.Holes {
		buf = binary.AppendUvarint(buf, h.Offset)
		buf = binary.AppendUvarint(buf, h.Length)
	}
	buf = binary.AppendUvarint(buf, uint64(len(n.Xattrs)))
	for _, x := range n.Xattrs {
		buf = appendString(buf, x.Name)
		buf = appendString(buf, string(x.Value))
	}
	return buf
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// decoder reads fields from untrusted bytes, remembering the first error.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
}

func (d *decoder) uvarint() uint64 { return readNumber(d, binary.Uvarint) }

func (d *decoder) varint() int64 { return readNumber(d, binary.Varint) }

// readNumber reads one varint-encoded number with read (binary.Uvarint or
// binary.Varint), recording an error for truncated or overlong input.
func readNumber[T uint64 | int64](d *decoder, read func([]byte) (T, int)) T {
	if d.err != nil {
		return 0
	}
	v, k := read(d.buf)
	if k <= 0 {
		d.fail("truncated or overlong number")
		return 0
	}
	d.buf = d.buf[k:]
	return v
}

func (d *decoder) bytes(n uint64, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.buf)) {
		d.fail("%s: %d bytes wanted, %d left", what, n, len(d.buf))
		return nil
	}
	b := d.buf[:n]
	d.buf = d.buf[n:]
	return b
}

func (d *decoder) string(limit uint64, what string) string {
	n := d.uvarint()
	if n > limit {
		d.fail("%s is %d bytes, limit %d", what, n, limit)
		return ""
	}
	return string(d.bytes(n, what))
}

func (d *decoder) id(what string) ident.ID {
	var id ident.ID
	copy(id[:], d.bytes(ident.Size, what))
	return id
}

func (d *decoder) count(minSize int, what string) uint64 {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.buf)/minSize) {
		d.fail("%s count %d does not fit in %d bytes", what, n, len(d.buf))
		return 0
	}
	return n
}

func (d *decoder) uint32(what string) uint32 {
	v := d.uvarint()
	if v > 1<<32-1 {
		d.fail("%s %d out of range", what, v)
	}
	return uint32(v)
}

// DecodeNode parses one node encoded by AppendNode and validates it.
func DecodeNode(b []byte) (*Node, error) {
	d := &decoder{buf: b}
	n := &Node{}
	n.Name = d.string(maxNameLen, "name")
	if t := d.uvarint(); t <= uint64(Socket) {
		n.Type = NodeType(t)
	}
	n.Mode, n.UID, n.GID = d.uint32("mode"), d.uint32("uid"), d.uint32("gid")
	n.Size = d.uvarint()
	n.ModTime, n.ChangeTime, n.AccessTime = d.varint(), d.varint(), d.varint()
	n.Inode, n.DeviceID, n.Links, n.Rdev = d.uvarint(), d.uvarint(), d.uvarint(), d.uvarint()
	n.LinkTarget = d.string(maxValueLen, "symlink target")
	if c := d.count(ident.Size, "content"); c > 0 {
		n.Content = make([]ident.ID, c)
		for i := range n.Content {
			n.Content[i] = d.id("content ID")
		}
	}
	switch flag := d.bytes(1, "subtree flag"); {
	case d.err != nil:
	case flag[0] == 1:
		n.Subtree = d.id("subtree ID")
	case flag[0] != 0:
		d.fail("bad subtree flag %d", flag[0])
	}
	if c := d.count(2, "hole"); c > 0 {
		n.Holes = make([]Extent, c)
		for i := range n.Holes {
			n.Holes[i] = Extent{Offset: d.uvarint(), Length: d.uvarint()}
		}
	}
	if c := d.count(2, "xattr"); c > 0 {
		n.Xattrs = make([]Xattr, c)
		for i := range n.Xattrs {
			n.Xattrs[i].Name = d.string(maxNameLen, "xattr name")
			n.Xattrs[i].Value = []byte(d.string(maxValueLen, "xattr value"))
		}
	}
	if d.err == nil && len(d.buf) != 0 {
		d.fail("%d trailing bytes", len(d.buf))
	}
	if d.err != nil {
		return nil, fmt.Errorf("tree node: %w", d.err)
	}
	if err := n.Validate(); err != nil {
		return nil, err
	}
	return n, nil
}

// Validate checks a node for values that would be unsafe to restore: names
// that escape the directory, unknown types, a directory without subtree.
func (n *Node) Validate() error {
	switch {
	case n.Name == "" || n.Name == "." || n.Name == "..":
		return fmt.Errorf("tree node: invalid name %q", n.Name)
	case strings.ContainsAny(n.Name, "/\x00"):
		return fmt.Errorf("tree node: name %q contains '/' or NUL", n.Name)
	case n.Type < File || n.Type > Socket:
		return fmt.Errorf("tree node %q: unknown type %d", n.Name, n.Type)
	case n.Type == Dir && n.Subtree.IsZero():
		return fmt.Errorf("tree node %q: directory without subtree", n.Name)
	case n.Type != Dir && !n.Subtree.IsZero():
		return fmt.Errorf("tree node %q: %s with a subtree", n.Name, n.Type)
	case n.Type != File && len(n.Content) > 0:
		return fmt.Errorf("tree node %q: %s with content", n.Name, n.Type)
	}
	var end uint64
	for _, h := range n.Holes {
		if h.Offset < end || h.Offset+h.Length < h.Offset || h.Offset+h.Length > n.Size {
			return fmt.Errorf("tree node %q: holes overlap, are unsorted or lie beyond the file size", n.Name)
		}
		end = h.Offset + h.Length
	}
	return nil
}
