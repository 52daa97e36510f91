// Package keycache remembers, on one machine, the master keys that passwords
// have already unlocked there, so that a command does not pay the password
// hash (argon2id, 64 MiB, about half a second of two cores) every time it
// runs: the first command on a machine pays it, the following ones do not.
//
// What it protects and what it does not: key files live in the bucket beside
// the data, so the expensive hash is what stands between a bucket reader and
// the data; the cache never goes to the bucket and does not change that. A
// cache entry holds the master key sealed (AES-256-GCM) under a key derived
// from the password with a cheap argon2id (8 MiB, one pass) and a random
// salt, so the entry alone does not give the key; but someone who can read
// this machine's cache can guess that password at the cheap cost. A machine
// that runs backups usually holds the password itself (an environment
// variable or a file), so that is no new exposure there; where it is, turn
// the cache off (the CLI's --no-key-cache or CAIRN_KEY_CACHE=off).
//
// An entry is keyed by the key file's ID (the hash of its content) and is
// used only while that key file is still listed in the repository: removing
// a key or changing a password in the repository revokes its entries on
// every machine.
package keycache

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/crypto/argon2"

	"github.com/cairnbackup/cairn/pkg/repo/crypto"
	"github.com/cairnbackup/cairn/pkg/repo/ident"
)

// entryVersion is the first byte of every entry; a different one is ignored.
const entryVersion = 1

const saltSize = 32

// entrySize is version + salt + the sealed 32-byte master key.
const entrySize = 1 + saltSize + crypto.KeySize + crypto.Overhead

// The cheap hash: enough that a stolen entry is not a free password oracle,
// cheap enough (about 10 ms) that it does not matter per command.
const (
	cheapTime   = 1
	cheapMemory = 8 << 10 // KiB
	cheapLanes  = 1
)

// ErrMalformed means an entry's bytes are not an entry of this version.
var ErrMalformed = errors.New("key cache entry is malformed")

// Dir is a key cache in one directory of the local file system.
type Dir struct {
	path string
}

// New returns the cache in dir, created (mode 0700) on the first Store.
func New(dir string) *Dir { return &Dir{path: dir} }

// Path is the directory the cache lives in.
func (d *Dir) Path() string { return d.path }

// Load returns the master key that keyFile wraps under password, if this
// machine has unlocked it before. A missing, unreadable or malformed entry,
// or one for another password, is simply a miss: the caller then unlocks the
// key file the slow way.
func (d *Dir) Load(keyFile ident.ID, password string) (*crypto.Key, bool) {
	data, err := os.ReadFile(d.file(keyFile))
	if err != nil {
		return nil, false
	}
	k, err := Open(data, keyFile, password)
	if err != nil {
		return nil, false
	}
	return k, true
}

// Store records master as unlocked by password from keyFile. The entry is
// written to a temporary file and renamed into place, so a concurrent Load
// sees the old entry or the new one, never half of one.
func (d *Dir) Store(keyFile ident.ID, password string, master *crypto.Key) error {
	entry, err := Seal(keyFile, password, master)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(d.path, 0o700); err != nil {
		return fmt.Errorf("key cache: %w", err)
	}
	tmp, err := os.CreateTemp(d.path, ".entry-*")
	if err != nil {
		return fmt.Errorf("key cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(entry); err != nil {
		tmp.Close()
		return fmt.Errorf("key cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("key cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), d.file(keyFile)); err != nil {
		return fmt.Errorf("key cache: %w", err)
	}
	return nil
}

// Forget removes the entry for keyFile, if any.
func (d *Dir) Forget(keyFile ident.ID) error {
	if err := os.Remove(d.file(keyFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("key cache: %w", err)
	}
	return nil
}

func (d *Dir) file(keyFile ident.ID) string { return filepath.Join(d.path, keyFile.String()) }

// Seal makes the entry for master as unlocked by password from keyFile.
func Seal(keyFile ident.ID, password string, master *crypto.Key) ([]byte, error) {
	salt := make([]byte, saltSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("key cache: read random salt: %w", err)
	}
	wrap, err := wrapKey(keyFile, password, salt)
	if err != nil {
		return nil, err
	}
	entry := append([]byte{entryVersion}, salt...)
	return wrap.Seal(entry, master.Bytes()), nil
}

// Open returns the master key in entry if it was sealed for keyFile under
// password. Its input is a file anyone with access to the cache directory
// may have changed: every length is checked and the seal authenticates the
// rest.
func Open(entry []byte, keyFile ident.ID, password string) (*crypto.Key, error) {
	if len(entry) != entrySize || entry[0] != entryVersion {
		return nil, ErrMalformed
	}
	salt := entry[1 : 1+saltSize]
	wrap, err := wrapKey(keyFile, password, salt)
	if err != nil {
		return nil, err
	}
	raw, err := wrap.Open(nil, entry[1+saltSize:])
	if err != nil {
		return nil, err
	}
	return crypto.KeyFromBytes(raw)
}

// wrapKey derives the entry's sealing key from the password, the entry's
// salt and the key file's ID (so an entry copied under another key file's
// name does not open).
func wrapKey(keyFile ident.ID, password string, salt []byte) (*crypto.Key, error) {
	material := append([]byte(password), keyFile[:]...)
	raw := argon2.IDKey(material, salt, cheapTime, cheapMemory, cheapLanes, crypto.KeySize)
	return crypto.KeyFromBytes(raw)
}
