package archiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"

	"github.com/cairnbackup/cairn/pkg/bufpool"
	"github.com/cairnbackup/cairn/pkg/chunker"
	"github.com/cairnbackup/cairn/pkg/fsutil"
	"github.com/cairnbackup/cairn/pkg/repo/ident"
	"github.com/cairnbackup/cairn/pkg/repo/tree"
)

// fileResult is what saving one regular file produced.
type fileResult struct {
	content []ident.ID
	holes   []tree.Extent
	// size is the file's size (data plus holes).
	size int64
	// read is the number of data bytes read.
	read int64
	// stored counts bytes written to the repository for new blobs.
	stored int64
	// newBlobs counts chunks that were not in the repository yet, added
	// their plaintext bytes.
	newBlobs, added int64
	// changed is set when the file's size or mtime moved while it was read;
	// the data saved is whatever was read, and the caller warns about it.
	changed bool
}

// fileSaver reads, chunks and hashes files, handing new chunks to the blob
// saver. One call per file; calls run on many goroutines at once. Each
// chunk is read into its own buffer from bufs, which travels to the blob
// saver without a copy, so memory follows the chunks in flight and the
// sizes of the files being read.
type fileSaver struct {
	repo    BlobRepository
	chunker *chunker.Chunker
	blobs   *blobSaver
	bufs    *bufpool.Pool
	onBytes func(int64)
}

// errVanished marks a file that disappeared between listing and reading.
var errVanished = errors.New("file vanished during backup")

// sourceError is a problem with one source file (it vanished, cannot be
// opened or read). The backup reports it and goes on; every other error
// (the repository's, say a full repository disk) stops the backup. The
// distinction must be made here, where it is known: a repository on
// file:// fails with *os.PathError too.
type sourceError struct {
	op  string
	err error
}

func (e *sourceError) Error() string {
	var pe *os.PathError
	if errors.As(e.err, &pe) {
		// The caller prints the path; keep only what went wrong.
		return e.op + ": " + pe.Err.Error()
	}
	return e.op + ": " + e.err.Error()
}

func (e *sourceError) Unwrap() error { return e.err }

func sourceErr(op string, err error) error { return &sourceError{op: op, err: err} }

// testHookBeforeOpen, when set by a test, runs before a file is opened, so
// tests can make files vanish or change at that exact moment.
var testHookBeforeOpen func(path string)

func (fs *fileSaver) save(ctx context.Context, path string, before *syscall.Stat_t) (fileResult, error) {
	var res fileResult
	if testHookBeforeOpen != nil {
		testHookBeforeOpen(path)
	}
	f, err := fsutil.OpenRaw(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return res, sourceErr("open", errVanished)
		}
		return res, sourceErr("open", err)
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return res, sourceErr("stat", err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return res, sourceErr("open", fmt.Errorf("%w (it is no longer a regular file)", errVanished))
	}
	if before != nil && (st.Ino != before.Ino || st.Dev != before.Dev) {
		return res, sourceErr("open", fmt.Errorf("%w (replaced by another file)", errVanished))
	}

	// Read no further than the size stat gave: that saves a read that
	// only returns EOF, and a file that grew meanwhile is reported as
	// changed below. A size of 0 is not trusted (pseudo-files in /proc and
	// /sys report 0 and have content): such files are read to the end.
	var src io.Reader = f
	if st.Size > 0 {
		src = io.LimitReader(f, st.Size)
	}
	if st.Blocks*512 < st.Size {
		// Fewer blocks than bytes: there are holes; read only the data.
		holes, err := fsutil.Holes(f, st.Size)
		if err != nil {
			return res, sourceErr("find holes", err)
		}
		if len(holes) > 0 {
			src = fsutil.NewDataReader(f, st.Size, holes)
			for _, h := range holes {
				res.holes = append(res.holes, tree.Extent{Offset: uint64(h.Offset), Length: uint64(h.Length)})
				// The scan counted the file's whole size: holes are done
				// as soon as they are known, or progress never ends at 100%.
				if fs.onBytes != nil {
					fs.onBytes(h.Length)
				}
			}
		}
	}
	sp := fs.chunker.NewSplitter(src, st.Size, fs.bufs)
	defer sp.Close()

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		saveErr error
	)
	done := func(stored int, err error) {
		mu.Lock()
		if err != nil && saveErr == nil {
			saveErr = err
		}
		res.stored += int64(stored)
		mu.Unlock()
		wg.Done()
	}
	for {
		chunk, err := sp.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			wg.Wait()
			return res, sourceErr("read", err)
		}
		id := fs.repo.Hash(chunk)
		n := int64(len(chunk))
		res.content = append(res.content, id)
		res.read += n
		if fs.onBytes != nil {
			fs.onBytes(n)
		}
		if fs.repo.Has(ident.DataBlob, id) {
			fs.bufs.Put(chunk)
			continue
		}
		res.newBlobs++
		res.added += n
		wg.Add(1)
		if err := fs.blobs.save(ctx, id, chunk, done); err != nil {
			wg.Done()
			wg.Wait()
			return res, err
		}
	}
	wg.Wait()
	if saveErr != nil {
		return res, saveErr
	}
	res.size = res.read
	if res.holes != nil {
		res.size = st.Size
	}
	var after syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &after); err == nil {
		if after.Size != res.size || after.Mtim != st.Mtim {
			res.changed = true
		}
	}
	if before != nil && (before.Size != st.Size || before.Mtim != st.Mtim) {
		res.changed = true
	}
	return res, nil
}
