package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"time"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/peakrss"
	"github.com/cairnbackup/cairn/cmd/cairn/internal/repocmd"
)

// Profiling for performance work: CAIRN_CPUPROFILE=file writes a CPU
// profile of the whole command, CAIRN_MEMPROFILE=file a heap profile at the
// end, or at CAIRN_MEMPROFILE_AFTER (a duration such as 300ms) to see what is
// live at a moment of peak memory (inspect with `go tool pprof`), and
// CAIRN_TRACE=file an execution trace, which shows where wall time goes
// that the CPU profile cannot: goroutines waiting on locks, channels and
// system calls (`go tool trace -pprof=sync file`).
// CAIRN_PEAK_RSS_FILE=file writes, at the end, two peak resident sizes in
// bytes: the whole command's, and the one since the repository was opened
// (the pipeline's, without the password hash's 64 MiB); the benchmark
// reports both.
func startProfiles() (stop func()) {
	var stops []func()
	if path := os.Getenv("CAIRN_PEAK_RSS_FILE"); path != "" {
		stops = append(stops, reportPeaks(path))
	}
	if stop := startRecording("CAIRN_CPUPROFILE", pprof.StartCPUProfile, pprof.StopCPUProfile); stop != nil {
		stops = append(stops, stop)
	}
	if stop := startRecording("CAIRN_TRACE", trace.Start, trace.Stop); stop != nil {
		stops = append(stops, stop)
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

// startRecording starts a recording (CPU profile, execution trace) into
// the file named by the environment variable env, and returns what ends
// it, or nil when the variable is unset or the recording cannot start.
func startRecording(env string, start func(io.Writer) error, stop func()) func() {
	path := os.Getenv(env)
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err == nil {
		if err = start(f); err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "cairn: %s: %v\n", env, err)
		return nil
	}
	return func() { stop(); f.Close() }
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
