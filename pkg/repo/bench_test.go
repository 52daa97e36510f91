package repo_test

import (
	"context"
	"sync"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/repotest"
)

// BenchmarkSaveBlobIncompressible measures the SaveBlob path (hash, compress
// test, seal, pack write) for 1 MiB random chunks from two goroutines, for
// profiling with -cpuprofile. It asserts nothing about speed.
func BenchmarkSaveBlobIncompressible(b *testing.B) {
	ctx := context.Background()
	r, _ := repotest.Init(b)
	chunks := make([][]byte, 64)
	for i := range chunks {
		chunks[i] = randBytes(1 << 20)
	}
	b.SetBytes(1 << 20)
	b.ResetTimer()
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= b.N {
					return
				}
				data := chunks[i%len(chunks)]
				data[0], data[1], data[2] = byte(i), byte(i>>8), byte(i>>16) // unique content
				if _, err := r.SaveBlob(ctx, repo.DataBlob, r.Hash(data), data); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := r.Flush(ctx); err != nil {
		b.Fatal(err)
	}
}
