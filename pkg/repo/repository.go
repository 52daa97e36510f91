// Package repo is the repository core of Cairn's data engine: a
// deduplicating, compressed, encrypted store of blobs in pack files over any
// gocloud.dev/blob bucket, with index files, snapshot manifests and key files.
//
// There are no lock objects. Every object is written once under a name that
// no other writer can produce with different content (conditional create),
// so concurrent backups cannot damage each other, and a killed backup leaves
// only packs that no index or snapshot references; prune removes them.
// See docs/engine-format.md for the on-disk format.
package repo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/user"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo/backend"
	"github.com/cairnbackup/cairn/pkg/repo/crypto"
	"github.com/cairnbackup/cairn/pkg/repo/ident"
	"github.com/cairnbackup/cairn/pkg/repo/index"
	"github.com/zeebo/blake3"
)

// ID names a blob or object; see ident.ID.
type ID = ident.ID

// BlobType is DataBlob or TreeBlob; see ident.BlobType.
type BlobType = ident.BlobType

// Blob types, re-exported so callers need only this package.
const (
	DataBlob = ident.DataBlob
	TreeBlob = ident.TreeBlob
)

// ParseID parses the hex form of an ID.
func ParseID(s string) (ID, error) { return ident.Parse(s) }

// Errors callers can test with errors.Is.
var (
	// ErrNoRepository means the location holds no repository (no config object).
	ErrNoRepository = errors.New("no repository at this location")
	// ErrAlreadyInitialized means Init found an existing repository.
	ErrAlreadyInitialized = errors.New("a repository already exists at this location")
	// ErrNoKeys means the repository has no key files: nothing can open it.
	ErrNoKeys = errors.New("repository has no key files")
	// ErrWrongPassword means no key file opens with the password.
	ErrWrongPassword = crypto.ErrWrongPassword
	// ErrNoSnapshot means no snapshot matches the ID, prefix or "latest"
	// asked for.
	ErrNoSnapshot = errors.New("snapshot not found")
	// ErrAmbiguousID means an ID prefix matches more than one object.
	ErrAmbiguousID = errors.New("ID prefix is ambiguous")
	// ErrNoKey means no key file has the ID asked for.
	ErrNoKey = errors.New("no such key")
	// ErrKeyInUse means the key file to remove is the one this handle
	// was opened with; removing it could lock the caller out.
	ErrKeyInUse = errors.New("the key is in use by this handle")
	// ErrUnsupportedVersion means the repository's format is newer (or
	// older) than this build reads.
	ErrUnsupportedVersion = errors.New("repository format version not supported")
	// ErrConcurrentPrune means data a backup relied on was deleted by a
	// prune that ran meanwhile (the backup outlived the grace period). The
	// backup saved no snapshot; running it again is safe.
	ErrConcurrentPrune = errors.New("data used by this backup was deleted by a concurrent prune")
	// ErrInvalidOptions means Options break an invariant (see
	// MaxVerifyAfter).
	ErrInvalidOptions = errors.New("invalid repository options")
	// ErrClosed means the handle was closed.
	ErrClosed = errors.New("repository handle is closed")
	// ErrBlobNotFound means the index has no such blob.
	ErrBlobNotFound = errors.New("blob not found in the index")
	// ErrCorrupt means stored bytes failed verification; the message names the object.
	ErrCorrupt = errors.New("stored data is corrupt")
)

// Options tune a repository handle. Zero values pick the defaults.
type Options struct {
	// PackSize is the size at which a pack is finished and uploaded
	// (default 16 MiB).
	PackSize int
	// Uploads is the number of packs uploaded in parallel (default 2; at
	// least 4 where data packs stream to a local directory, see
	// localUploads). At most Uploads+1 packs per blob type are held in
	// memory; data packs on file:// are streamed to disk and take none.
	Uploads int
	// KDF sets the password-hashing cost for new key files (default crypto.DefaultKDF).
	KDF crypto.KDFParams
	// VerifyAfter: a backup that ran longer than this verifies, before
	// saving its snapshot, that every pack it relies on still exists
	// (default and maximum MaxVerifyAfter; Open and Init refuse more).
	VerifyAfter time.Duration
	// NoStreaming builds data packs in memory even on a local directory.
	NoStreaming bool
	// Hostname and Username label new key files; default from the OS.
	Hostname, Username string
	// KeyCache, when set, remembers the master keys passwords unlocked on
	// this machine, so later opens skip the password hash (see
	// pkg/repo/keycache for what that trades). Nil: every open pays it.
	KeyCache KeyCache
}

// KeyCache remembers master keys that passwords have unlocked from key
// files. Entries are only consulted for key files the repository still
// lists, and a cached key must still decrypt the config, so a removed key
// or a changed password is never bypassed. A cache that fails to store is
// only slower.
type KeyCache interface {
	Load(keyFile ID, password string) (*crypto.Key, bool)
	Store(keyFile ID, password string, master *crypto.Key) error
}

func (o Options) withDefaults() Options {
	if o.PackSize <= 0 {
		o.PackSize = 16 << 20
	}
	if o.Uploads <= 0 {
		o.Uploads = 2
	}
	if o.KDF.Algorithm == "" {
		o.KDF = crypto.DefaultKDF
	}
	if o.VerifyAfter <= 0 {
		o.VerifyAfter = MaxVerifyAfter
	}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	if o.Username == "" {
		if u, err := user.Current(); err == nil {
			o.Username = u.Username
		}
	}
	return o
}

// MinPruneGrace is the shortest grace period a prune may use while
// backups can run (maint.Prune refuses less unless told that none run). A
// backup that ran for less than Options.VerifyAfter does not check that
// the packs it relies on still exist; that is safe only because no prune
// plan can be both made and carried out within a shorter time than the
// grace period. MaxVerifyAfter keeps VerifyAfter well below it.
const MinPruneGrace = time.Hour

// MaxVerifyAfter is the largest Options.VerifyAfter: half of MinPruneGrace,
// so the relation between the two holds by construction (see
// MinPruneGrace) instead of by a setting someone must keep right.
const MaxVerifyAfter = MinPruneGrace / 2

// validate rejects options that would break an invariant other processes
// rely on.
func (o Options) validate() error {
	if o.VerifyAfter > MaxVerifyAfter {
		return fmt.Errorf("%w: VerifyAfter %s is longer than %s, half the shortest prune grace period (%s): a prune could then delete data a backup relies on without the backup noticing", ErrInvalidOptions, o.VerifyAfter, MaxVerifyAfter, MinPruneGrace)
	}
	return nil
}

// Repository is an open repository. All methods are safe for concurrent use.
// A handle is meant for one backup, restore or maintenance run: it keeps
// the index it loaded, so a handle kept open across prunes would still see
// deleted packs (SaveSnapshot then refuses, see protect). Open a new handle
// for each run.
type Repository struct {
	be    *backend.Backend
	key   *crypto.Key
	keyID ID
	cfg   Config
	opts  Options
	idx   *index.Index

	hashers sync.Pool // keyed *blake3.Hasher
	packers [3]*packer
	trees   *treeCache
	treeIdx treePacks
	up      *uploader

	planMu     sync.Mutex
	plansSeen  map[ID]bool
	indexErrs  []error
	indexFiles map[ID][]ID // loaded or written index files: the packs each describes
	opened     time.Time
}

// Init creates a new repository in be, protected by password, and returns
// it open. It fails with ErrAlreadyInitialized if one exists.
func Init(ctx context.Context, be *backend.Backend, password string, opts Options) (*Repository, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if _, err := be.Size(ctx, configKey); err == nil {
		return nil, fmt.Errorf("init %s: %w", be.URL(), ErrAlreadyInitialized)
	}
	master, err := crypto.NewRandomKey()
	if err != nil {
		return nil, err
	}
	cfg := Config{Version: FormatVersion}
	for _, b := range [][]byte{cfg.ID[:], cfg.ChunkerSeed[:], cfg.ChunkIDKey[:]} {
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("init: read random bytes: %w", err)
		}
	}
	r := newRepository(be, master, cfg, opts)
	if err := r.create(ctx, password); err != nil {
		return nil, err
	}
	if opts.KeyCache != nil {
		_ = opts.KeyCache.Store(r.keyID, password, master) // a cache that cannot store is only slower
	}
	// A directory that cannot be made now is made by the first write into
	// it, as in repositories made before this: only slower.
	_ = be.MakeDirs(packDirs())
	return r, nil
}

// packDirs lists the key prefixes packs are stored under (see PackKey):
// file:// makes their directories at init, as restic does, so a first
// backup's packer never waits for a mkdir and a directory fsync.
func packDirs() []string {
	dirs := make([]string, 0, 256)
	for i := range 256 {
		dirs = append(dirs, fmt.Sprintf("%s%02x/", PacksPrefix, i))
	}
	return dirs
}

// create writes the new repository's key file and then its config, with a
// conditional create. The key file goes first: a config without any key
// would be unusable, while a key without config is just ignored garbage.
// Two inits that race both pass Init's check for a config; the one whose
// config create loses removes its key file again, which wraps a master key
// that encrypts nothing (unlock also skips such a key if a crash left it).
func (r *Repository) create(ctx context.Context, password string) error {
	var err error
	if r.keyID, err = r.writeKeyFile(ctx, r.key, password); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	err = r.saveConfig(ctx)
	if errors.Is(err, backend.ErrExists) {
		// An earlier attempt of this same conditional create may have
		// succeeded with its answer lost (the retry then finds the object):
		// a config that decrypts under our key with our ID is ours.
		if cfg, lerr := loadConfig(ctx, r.be, r.key); lerr == nil && cfg.ID == r.cfg.ID {
			err = nil
		}
	}
	if err == nil {
		return nil
	}
	if rmErr := r.be.Delete(ctx, keysPrefix+r.keyID.String()); rmErr != nil {
		return fmt.Errorf("init: %w; its key file %s%s could not be removed: %w", err, keysPrefix, r.keyID, rmErr)
	}
	if errors.Is(err, backend.ErrExists) {
		return fmt.Errorf("init %s: %w", r.be.URL(), ErrAlreadyInitialized)
	}
	return fmt.Errorf("init: %w", err)
}

// Open opens the repository in be with password, loads the index and the
// pending prune plans.
func Open(ctx context.Context, be *backend.Backend, password string, opts Options) (*Repository, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if _, err := be.Size(ctx, configKey); err != nil {
		if errors.Is(err, backend.ErrNotFound) {
			return nil, fmt.Errorf("open %s: %w", be.URL(), ErrNoRepository)
		}
		return nil, fmt.Errorf("open %s: %w", be.URL(), err)
	}
	master, keyID, cfg, err := unlock(ctx, be, password, opts.KeyCache)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", be.URL(), err)
	}
	// The password hash's 64 MiB of work memory is garbage now: collect it
	// and give it back to the system, so the index and the backup start
	// from a small heap instead of growing past the hash's pages.
	debug.FreeOSMemory()
	r := newRepository(be, master, cfg, opts)
	r.keyID = keyID
	if err := r.LoadIndex(ctx); err != nil {
		return nil, err
	}
	if _, err := r.RefreshPlans(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

func newRepository(be *backend.Backend, master *crypto.Key, cfg Config, opts Options) *Repository {
	r := &Repository{be: be, key: master, cfg: cfg, opts: opts, idx: index.New(), plansSeen: map[ID]bool{}, indexFiles: map[ID][]ID{}, opened: time.Now()}
	chunkKey := cfg.ChunkIDKey
	r.hashers.New = func() any {
		h, err := blake3.NewKeyed(chunkKey[:])
		if err != nil {
			// NewKeyed only fails for a key that is not 32 bytes.
			return nil
		}
		return h
	}
	for _, t := range []BlobType{DataBlob, TreeBlob} {
		// Data packs on a local directory stream to their file; tree packs
		// and packs for remote stores are built in memory so an upload can
		// be retried.
		stream := t == DataBlob && be.Local() && !opts.NoStreaming
		r.packers[t] = &packer{typ: t, stream: stream, slots: make(chan struct{}, opts.Uploads+1),
			free: make(chan []byte, opts.Uploads+1)}
		if !stream {
			r.packers[t].limit = memPackLimit
		}
	}
	r.up = newUploader(r, uploadWorkers(be, opts))
	r.trees = newTreeCache(treeCacheBytes)
	return r
}

// localUploads is the least number of packs finished at once when data
// packs stream to a local directory. Finishing such a pack holds no
// memory: it is the fsync of its 16 MiB (waiting for the disk), a rename
// and a directory fsync. With two at once the third full pack waited in
// SaveBlob, and behind it the memory budget and the file workers, while
// the disk could have taken more. Measured on 1 GiB of random files
// (fresh file system on a loop device): 1.63 -> 1.42 s mean over 8
// alternating pairs, 7 of them faster, and less system time.
const localUploads = 4

// uploadWorkers is how many packs are uploaded (or finished) in
// parallel: Options.Uploads, and at least localUploads where data packs
// stream to disk. Memory packs stay bounded by Uploads+1 per type (the
// packers' slots), whatever the number of workers.
func uploadWorkers(be *backend.Backend, opts Options) int {
	if be.Local() && !opts.NoStreaming {
		return max(opts.Uploads, localUploads)
	}
	return opts.Uploads
}

// Backend returns the storage the repository lives in.
func (r *Repository) Backend() *backend.Backend { return r.be }

// Config returns the repository configuration (ID, chunker seed).
func (r *Repository) Config() Config { return r.cfg }

// ChunkerSeed returns the secret seed for the content-defined chunker (32
// bytes), so chunk boundaries depend on a per-repository secret.
func (r *Repository) ChunkerSeed() []byte { s := r.cfg.ChunkerSeed; return s[:] }

// Key returns the master key, for packages that seal their own objects.
func (r *Repository) Key() *crypto.Key { return r.key }

// KeyID names the key file that opened this handle.
func (r *Repository) KeyID() ID { return r.keyID }

// Index returns the in-memory index.
func (r *Repository) Index() *index.Index { return r.idx }

// Hash returns the keyed BLAKE3 ID of data, the blob ID under which SaveBlob
// stores it.
func (r *Repository) Hash(data []byte) ID {
	h, _ := r.hashers.Get().(*blake3.Hasher)
	var id ID
	h.Reset()
	_, _ = h.Write(data)
	h.Sum(id[:0])
	r.hashers.Put(h)
	return id
}

// Close cancels uploads still running, waits for them to stop and releases
// the backend. Blobs saved since the last Flush are lost (their packs, if
// uploaded, stay unreferenced until prune); Close never waits on a store
// that stopped answering.
func (r *Repository) Close() error {
	for _, t := range []BlobType{DataBlob, TreeBlob} {
		if op := r.packers[t].detach(); op != nil {
			r.up.abandon(r.packers[t], op)
		}
	}
	r.up.close()
	for _, t := range []BlobType{DataBlob, TreeBlob} {
		r.packers[t].unmapFree()
	}
	return r.be.Close()
}

func defaultParallelism() int { return max(2, runtime.GOMAXPROCS(0)) }
