package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

// Profiling for performance work: CAIRN_CPUPROFILE=file writes a CPU
// profile of the whole command, CAIRN_MEMPROFILE=file a heap profile at the
// end, or at CAIRN_MEMPROFILE_AFTER (a duration such as 300ms) to see what is
// live at a moment of peak memory (inspect with `go tool pprof`).
func startProfiles() (stop func()) {
	var stops []func()
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
