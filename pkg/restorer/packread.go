package restorer

import (
	"context"
	"slices"

	"github.com/cairnbackup/cairn/pkg/bufpool"
	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/ident"
)

// Chunks are not loaded one by one: the walker collects them in batches,
// sorts each batch by pack and offset, and hands out runs of neighbouring
// blobs that a worker reads with one ranged GET. Small files backed up
// together sit next to each other in packs, so this turns thousands of
// object reads into a few.
const (
	batchTasks = 512      // tasks collected before a batch is sorted and sent
	batchBytes = 32 << 20 // stored bytes collected before that
	runMax     = 2 << 20  // largest span read at once (one per worker in memory)
	runGap     = 64 << 10 // largest unneeded gap read to join two blobs
	// runTasks caps the chunks in one run: a run is handled by one worker,
	// and writing a small file (create, write, chmod, chown, utimes) costs
	// more than reading it, so long runs of small files would leave the
	// other workers idle.
	runTasks = 16
)

// packRun is a span of one pack holding the blobs of tasks; a run with a
// zero pack holds tasks that only create empty files.
type packRun struct {
	pack       ident.ID
	start, end int64
	tasks      []chunkTask
}

// enqueue adds a task to the current batch (walker goroutine only).
func (r *restore) enqueue(ctx context.Context, t chunkTask) error {
	r.batch = append(r.batch, t)
	r.batchSize += int64(t.loc.Length)
	if len(r.batch) >= batchTasks || r.batchSize >= batchBytes {
		return r.flush(ctx)
	}
	return nil
}

// flush sorts the batch into runs and sends them to the workers.
func (r *restore) flush(ctx context.Context) error {
	batch := r.batch
	r.batch, r.batchSize = nil, 0
	slices.SortFunc(batch, func(a, b chunkTask) int {
		if c := ident.Compare(a.loc.Pack, b.loc.Pack); c != 0 {
			return c
		}
		return int(int64(a.loc.Offset) - int64(b.loc.Offset))
	})
	var runs []packRun
	for _, t := range batch {
		start, end := int64(t.loc.Offset), int64(t.loc.Offset)+int64(t.loc.Length)
		if n := len(runs); n > 0 {
			last := &runs[n-1]
			if last.pack == t.loc.Pack && len(last.tasks) < runTasks && (t.loc.Pack.IsZero() ||
				start-last.end <= runGap && max(end, last.end)-last.start <= runMax) {
				last.end = max(last.end, end)
				last.tasks = append(last.tasks, t)
				continue
			}
		}
		runs = append(runs, packRun{pack: t.loc.Pack, start: start, end: end, tasks: []chunkTask{t}})
	}
	for i, run := range runs {
		select {
		case r.runs <- run:
		case <-ctx.Done():
			for _, rest := range runs[i:] {
				drop(rest.tasks)
			}
			return ctx.Err()
		}
	}
	return nil
}

// dropBatch gives up the tasks not yet sent (the walk failed), closing
// their files.
func (r *restore) dropBatch() {
	drop(r.batch)
	r.batch, r.batchSize = nil, 0
}

func drop(tasks []chunkTask) {
	for _, t := range tasks {
		t.file.failed.Store(true)
		if t.file.pending.Add(-1) == 0 {
			t.file.close()
		}
	}
}

// worker reads runs and writes their chunks. It keeps one buffer for the
// run's bytes, in which chunks are decrypted where they lie, and one for a
// compressed chunk's plaintext, and reuses both for every run (trading them
// for a larger pooled one when a run or chunk needs it): a restore's memory
// is two buffers per worker, outside the Go heap, and it makes no garbage
// however many files it writes.
func (r *restore) worker(ctx context.Context) {
	defer r.wg.Done()
	var cmp, runBuf, plainBuf []byte
	defer func() {
		bufpool.Shared.Put(runBuf)
		bufpool.Shared.Put(plainBuf)
	}()
	for run := range r.runs {
		var data []byte
		var readErr error
		if !run.pack.IsZero() && ctx.Err() == nil {
			runBuf = atLeast(runBuf, run.end-run.start)
			data, readErr = r.repo.Backend().GetRangeInto(ctx, repo.PackKey(run.pack), run.start, run.end-run.start, runBuf)
		}
		// Tasks are sorted by offset, so the same chunk used twice in a
		// run (a file stored twice) comes twice in a row: its bytes were
		// decrypted in place the first time, so the plaintext is reused.
		var lastOff int64 = -1
		var lastPlain []byte
		for _, t := range run.tasks {
			load := func() ([]byte, error) {
				off := int64(t.loc.Offset) - run.start
				if readErr == nil && off == lastOff && lastPlain != nil {
					return lastPlain, nil
				}
				if readErr == nil && off != lastOff {
					lastOff, lastPlain = off, nil
					sealed := data[off : off+int64(t.loc.Length)]
					if t.loc.Compressed {
						plainBuf = atLeast(plainBuf, int64(t.loc.RawLength))
					}
					plain, err := r.repo.OpenBlobInPlace(plainBuf, t.id, sealed, t.loc.Compressed, t.loc.RawLength)
					if err == nil {
						lastPlain = plain
						return plain, nil
					}
				}
				// Another stored copy may be intact; LoadBlob tries
				// them all and names the damaged pack if none is.
				return r.repo.LoadBlob(ctx, ident.DataBlob, t.id)
			}
			r.handle(ctx, t, load, &cmp)
		}
	}
}

// atLeast returns b if it holds n bytes, else lets b go (unmapped at once:
// the worker keeps the larger buffer for good, so the smaller one would
// only sit idle) and takes one that does. Nothing may still point into b
// then: the worker calls it only before reading a new run or decoding a
// new chunk.
func atLeast(b []byte, n int64) []byte {
	if int64(cap(b)) >= n {
		return b
	}
	bufpool.Shared.Discard(b)
	return bufpool.Shared.Get(int(n))
}
