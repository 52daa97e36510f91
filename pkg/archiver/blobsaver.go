package archiver

import (
	"context"
	"fmt"
	"sync"

	"github.com/cairnbackup/cairn/pkg/bufpool"
	"github.com/cairnbackup/cairn/pkg/repo/ident"
)

// BlobRepository is the part of a repository the archiver writes to. The
// repository's SaveBlob compresses and encrypts in the calling goroutine, so
// calling it from a pool of workers spreads that work over every core.
type BlobRepository interface {
	Hash(data []byte) ident.ID
	Has(t ident.BlobType, id ident.ID) bool
	SaveBlob(ctx context.Context, t ident.BlobType, id ident.ID, data []byte) (int, error)
}

// budget bounds the bytes of chunk data held in memory between reading and
// saving. Acquire blocks until the bytes are free, which is what keeps memory
// bounded by the flag and not by the size of the data.
type budget struct {
	mu    sync.Mutex
	cond  *sync.Cond
	free  int64
	limit int64
}

func newBudget(limit int64) *budget {
	b := &budget{free: limit, limit: limit}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// acquire takes n bytes. A request larger than the whole budget waits until
// the budget is completely free and then takes all of it, so one oversized
// chunk cannot deadlock the pipeline.
func (b *budget) acquire(ctx context.Context, n int64) error {
	if n > b.limit {
		n = b.limit
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.free < n {
		if err := ctx.Err(); err != nil {
			return err
		}
		b.cond.Wait()
	}
	b.free -= n
	return nil
}

func (b *budget) release(n int64) {
	if n > b.limit {
		n = b.limit
	}
	b.mu.Lock()
	b.free += n
	b.mu.Unlock()
	b.cond.Broadcast()
}

// wake unblocks waiters so they can notice a cancelled context.
func (b *budget) wake() { b.cond.Broadcast() }

// blobJob is one chunk on its way to the repository.
type blobJob struct {
	id   ident.ID
	data []byte
	done func(stored int, err error)
}

// blobSaver runs SaveBlob on a fixed pool of goroutines. It owns the chunk
// buffers queued to it and gives them back to bufs once saved.
type blobSaver struct {
	repo   BlobRepository
	budget *budget
	jobs   chan blobJob
	wg     sync.WaitGroup
	bufs   *bufpool.Pool
}

func newBlobSaver(ctx context.Context, repo BlobRepository, workers int, memLimit int64, bufs *bufpool.Pool) *blobSaver {
	s := &blobSaver{repo: repo, budget: newBudget(memLimit), jobs: make(chan blobJob, workers), bufs: bufs}
	for i := 0; i < workers; i++ {
		s.wg.Add(1)
		go s.run(ctx)
	}
	context.AfterFunc(ctx, s.budget.wake)
	return s
}

func (s *blobSaver) run(ctx context.Context) {
	defer s.wg.Done()
	for j := range s.jobs {
		var stored int
		err := ctx.Err()
		if err == nil {
			stored, err = s.repo.SaveBlob(ctx, ident.DataBlob, j.id, j.data)
			if err != nil {
				err = fmt.Errorf("save data blob %s: %w", j.id.Short(), err)
			}
		}
		n := int64(cap(j.data))
		s.bufs.Put(j.data)
		s.budget.release(n)
		j.done(stored, err)
	}
}

// save queues chunk, a buffer from bufs that the blob saver now owns (the
// caller must not touch it again). It blocks while the memory budget is
// exhausted; on error the buffer is given back.
func (s *blobSaver) save(ctx context.Context, id ident.ID, chunk []byte, done func(int, error)) error {
	n := int64(cap(chunk))
	if err := s.budget.acquire(ctx, n); err != nil {
		s.bufs.Put(chunk)
		return err
	}
	select {
	case s.jobs <- blobJob{id: id, data: chunk, done: done}:
		return nil
	case <-ctx.Done():
		s.budget.release(n)
		s.bufs.Put(chunk)
		return ctx.Err()
	}
}

// close waits for queued blobs to be saved.
func (s *blobSaver) close() {
	close(s.jobs)
	s.wg.Wait()
}
