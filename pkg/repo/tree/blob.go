package tree

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cairnbackup/cairn/pkg/repo/ident"
)

// Tree blob layout: magic "CTR1", kind byte, uvarint count, then entries.
// A leaf's entries are nodes, each as uvarint length + AppendNode bytes. An
// index's entries are child pages: first name (uvarint length + bytes),
// 32-byte child blob ID, uvarint number of nodes below the child.
const blobMagic = "CTR1"

// Kinds of tree blob.
const (
	kindLeaf  = 0
	kindIndex = 1
)

// maxDepth bounds index levels; 8 levels of 256 KiB pages hold far more
// entries than any file system has.
const maxDepth = 8

// Child is an index entry: one page below an index blob.
type Child struct {
	FirstName string
	ID        ident.ID
	Count     uint64
}

// Blob is a decoded tree blob: either Nodes (leaf) or Children (index).
type Blob struct {
	Leaf     bool
	Nodes    [][]byte // encoded nodes, decoded lazily by the reader
	Children []Child
}

func appendHeader(buf []byte, kind byte, count int) []byte {
	buf = append(buf, blobMagic...)
	buf = append(buf, kind)
	return binary.AppendUvarint(buf, uint64(count))
}

// DecodeBlob parses a tree blob. Node bytes are checked for framing here and
// decoded by DecodeNode when read.
func DecodeBlob(b []byte) (*Blob, error) {
	if len(b) < len(blobMagic)+2 || string(b[:len(blobMagic)]) != blobMagic {
		return nil, errors.New("tree blob: bad magic")
	}
	kind := b[len(blobMagic)]
	d := &decoder{buf: b[len(blobMagic)+1:]}
	out := &Blob{}
	switch kind {
	case kindLeaf:
		out.Leaf = true
		n := d.count(2, "node")
		out.Nodes = make([][]byte, 0, n)
		for i := uint64(0); i < n && d.err == nil; i++ {
			l := d.uvarint()
			out.Nodes = append(out.Nodes, d.bytes(l, "node"))
		}
	case kindIndex:
		n := d.count(ident.Size+2, "child")
		if d.err == nil && n == 0 {
			d.fail("index blob without children")
		}
		out.Children = make([]Child, 0, n)
		for i := uint64(0); i < n && d.err == nil; i++ {
			var c Child
			c.FirstName = d.string(maxNameLen, "first name")
			c.ID = d.id("child ID")
			c.Count = d.uvarint()
			out.Children = append(out.Children, c)
		}
	default:
		return nil, fmt.Errorf("tree blob: unknown kind %d", kind)
	}
	if d.err == nil && len(d.buf) != 0 {
		d.fail("%d trailing bytes", len(d.buf))
	}
	if d.err != nil {
		return nil, fmt.Errorf("tree blob: %w", d.err)
	}
	return out, nil
}
