package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/peakrss"
	"github.com/cairnbackup/cairn/cmd/cairn/internal/repocmd"
)

// Profiling for performance work: CAIRN_CPUPROFILE=file writes a CPU
// profile of the whole command, CAIRN_MEMPROFILE=file a heap profile at the
// end, or at CAIRN_MEMPROFILE_AFTER (a duration such as 300ms) to see what is
// live at a moment of peak memory (inspect with `go tool pprof`).
// CAIRN_PEAK_RSS_FILE=file writes, at the end, two peak resident sizes in
// bytes: the whole command's, and the one since the repository was opened
// (the pipeline's, without the password hash's 64 MiB); the benchmark
// reports both.
func startProfiles() (stop func()) {
	var stops []func()
	if path := os.Getenv("CAIRN_PEAK_RSS_FILE"); path != "" {
		stops = append(stops, reportPeaks(path))
	}
	if path := os.Getenv("CAIRN_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "cairn: CAIRN_CPUPROFILE: %v\n", err)
		} else if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(os.Stderr, "cairn: CAIRN_CPUPROFILE: %v\n", err)
			f.Close()
		} else {
			stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
		}
	}
	if path := os.Getenv("CAIRN_MEMPROFILE"); path != "" {
		runtime.MemProfileRate = 64 << 10
		write := func() {
			f, err := os.Create(path)
			if err != nil {
				fmt.Fprintf(os.Stderr, "cairn: CAIRN_MEMPROFILE: %v\n", err)
				return
			}
			defer f.Close()
			if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
				fmt.Fprintf(os.Stderr, "cairn: CAIRN_MEMPROFILE: %v\n", err)
			}
		}
		if after := os.Getenv("CAIRN_MEMPROFILE_AFTER"); after != "" {
			d, err := time.ParseDuration(after)
			if err != nil {
				fmt.Fprintf(os.Stderr, "cairn: CAIRN_MEMPROFILE_AFTER: %v\n", err)
			} else {
				time.AfterFunc(d, write)
			}
		} else {
			stops = append(stops, write)
		}
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}

// reportPeaks arranges for the peak-memory mark to be reset once the
// repository is open, and returns the function that writes both peaks.
// The reset also lowers what wait4 reports, so the whole command's peak is
// the larger of the mark before the reset and the one at the end.
func reportPeaks(path string) func() {
	var beforeOpen int64
	repocmd.AfterOpen = func() {
		var err error
		if beforeOpen, err = peakrss.Peak(); err == nil {
			err = peakrss.Reset()
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "cairn: CAIRN_PEAK_RSS_FILE: %v\n", err)
		}
	}
	return func() {
		peak, err := peakrss.Peak()
		if err == nil {
			err = os.WriteFile(path, fmt.Appendf(nil, "%d %d\n", max(beforeOpen, peak), peak), 0o644)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "cairn: CAIRN_PEAK_RSS_FILE: %v\n", err)
		}
	}
}
