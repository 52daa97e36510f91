// Package ident holds the identifiers shared by every layer of the repository
// format: the 32-byte object ID and the blob type. It lives in its own package
// so that the tree format and the pack/index codecs can name blobs without
// importing the repository itself.
package ident

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"sort"
)

// Size is the length of an ID in bytes.
const Size = 32

// ID names a blob or a stored object. Blob IDs are keyed BLAKE3 hashes of the
// plaintext (so equal content dedups and the ID leaks nothing without the
// key); object IDs (packs, index files, snapshots) are plain BLAKE3 hashes of
// the stored bytes, so anyone can verify an object against its name.
type ID [Size]byte

// String returns the lower-case hex form used in object names and the CLI.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short returns the first 8 hex digits, enough to name a snapshot to a user.
func (id ID) Short() string { return hex.EncodeToString(id[:4]) }

// IsZero reports whether id is the zero value, which never names a real object.
func (id ID) IsZero() bool { return id == ID{} }

// MarshalText lets IDs appear as hex strings in JSON documents.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText parses the hex form written by MarshalText.
func (id *ID) UnmarshalText(b []byte) error {
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*id = p
	return nil
}

// Parse decodes a 64-digit hex string into an ID, with an error that says
// what was wrong so a mistyped ID on the command line is easy to fix.
func Parse(s string) (ID, error) {
	var id ID
	if len(s) != 2*Size {
		return id, fmt.Errorf("invalid ID %q: want %d hex digits, got %d", s, 2*Size, len(s))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("invalid ID %q: not hex: %w", s, err)
	}
	return id, nil
}

// Compare orders IDs bytewise; the in-memory index keeps IDs in this order.
func Compare(a, b ID) int { return bytes.Compare(a[:], b[:]) }

// Sort sorts ids in place in Compare order.
func Sort(ids []ID) {
	sort.Slice(ids, func(i, j int) bool { return Compare(ids[i], ids[j]) < 0 })
}

// BlobType separates file content from directory metadata: they go to
// different packs so that tree walks (check, prune, ls) read little data.
type BlobType uint8

const (
	// DataBlob holds a chunk of file content.
	DataBlob BlobType = 1
	// TreeBlob holds an encoded directory page (see package tree).
	TreeBlob BlobType = 2
)

// String returns "data" or "tree" for messages and JSON.
func (t BlobType) String() string {
	switch t {
	case DataBlob:
		return "data"
	case TreeBlob:
		return "tree"
	}
	return fmt.Sprintf("blobtype(%d)", uint8(t))
}

// Valid reports whether t is one of the defined blob types.
func (t BlobType) Valid() bool { return t == DataBlob || t == TreeBlob }
