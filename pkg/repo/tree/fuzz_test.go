package tree

import (
	"reflect"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo/ident"
)

func seedNode() *Node {
	return &Node{Name: "file.txt", Type: File, Mode: 0o644, UID: 1, GID: 2, Size: 10, ModTime: 5,
		Content: []ident.ID{{1}}, Holes: []Extent{{Offset: 2, Length: 3}}, Xattrs: []Xattr{{Name: "user.a", Value: []byte("b")}}}
}

// FuzzDecodeNode: arbitrary bytes never panic; an accepted node is valid
// and survives a re-encode unchanged.
func FuzzDecodeNode(f *testing.F) {
	f.Add(AppendNode(nil, seedNode()))
	f.Add(AppendNode(nil, &Node{Name: "d", Type: Dir, Subtree: ident.ID{9}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := DecodeNode(data)
		if err != nil {
			return
		}
		if err := n.Validate(); err != nil {
			t.Fatalf("decoder accepted an invalid node: %v", err)
		}
		again, err := DecodeNode(AppendNode(nil, n))
		if err != nil || !reflect.DeepEqual(n, again) {
			t.Fatalf("re-encoding changed the node: %v", err)
		}
	})
}

// FuzzDecodeBlob: arbitrary tree blobs never panic, and every node in an
// accepted leaf either decodes or fails cleanly.
func FuzzDecodeBlob(f *testing.F) {
	leaf := appendHeader(nil, kindLeaf, 1)
	node := AppendNode(nil, seedNode())
	leaf = append(appendUvarint(leaf, len(node)), node...)
	f.Add(leaf)
	idx := appendHeader(nil, kindIndex, 1)
	idx = appendString(idx, "a")
	idx = append(idx, make([]byte, ident.Size)...)
	idx = append(idx, 5)
	f.Add(idx)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := DecodeBlob(data)
		if err != nil {
			return
		}
		for _, raw := range b.Nodes {
			_, _ = DecodeNode(raw)
		}
	})
}

func appendUvarint(b []byte, n int) []byte {
	for n >= 0x80 {
		b = append(b, byte(n)|0x80)
		n >>= 7
	}
	return append(b, byte(n))
}
