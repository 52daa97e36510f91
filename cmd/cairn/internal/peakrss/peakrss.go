// Package peakrss reads and resets the kernel's record of a process's peak
// resident memory (VmHWM), so that the benchmark can report a command's
// peak both with the password hash (64 MiB of argon2id work memory, from
// wait4) and without it: the mark is reset once the repository is open
// and the hash's memory has been given back, and read at exit.
package peakrss

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Reset sets the peak to the current resident size (Linux: writing 5 to
// /proc/self/clear_refs).
func Reset() error {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// Peak returns the peak resident size in bytes since the start or the
// last Reset.
func Peak() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmHWM %q: %w", rest, err)
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}
