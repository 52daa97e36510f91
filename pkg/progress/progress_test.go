package progress

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestCountersAndFinalReport(t *testing.T) {
	var mu sync.Mutex
	var reports []Status
	tr := New(context.Background(), func(s Status) {
		mu.Lock()
		reports = append(reports, s)
		mu.Unlock()
	}, time.Millisecond)
	tr.AddTotal(10, 1000)
	tr.TotalsDone()
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr.AddBytes(50)
			tr.AddFiles(1)
		}()
	}
	wg.Wait()
	tr.AddError()
	st := tr.Status()
	if st.FilesDone != 10 || st.BytesDone != 500 || st.BytesTotal != 1000 || st.Errors != 1 || !st.TotalsKnown {
		t.Fatalf("unexpected status %+v", st)
	}
	if st.BytesPerSecond <= 0 || st.ETA <= 0 {
		t.Fatalf("rate and ETA must be positive with work left: %+v", st)
	}
	final := tr.Finish()
	tr.Finish()
	mu.Lock()
	defer mu.Unlock()
	last := reports[len(reports)-1]
	if !final.Done || !last.Done || last.FilesDone != 10 {
		t.Fatalf("final report wrong: %+v", last)
	}
	done := 0
	for _, r := range reports {
		if r.Done {
			done++
		}
	}
	if done != 1 {
		t.Fatalf("%d final reports, want exactly 1", done)
	}
}

func TestNilTracker(t *testing.T) {
	var tr *Tracker
	tr.AddBytes(1)
	tr.AddFiles(1)
	tr.AddTotal(1, 1)
	tr.AddError()
	tr.TotalsDone()
	if s := tr.Finish(); !s.Done {
		t.Fatal("nil tracker Finish must report Done")
	}
}
