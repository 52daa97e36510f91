package proc

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// WritePidFile records p as "<pid>\n<exe>\n" so a later program (a
// tear-down after a crash) can stop it with StopPidFile.
func WritePidFile(path string, p *Proc) error {
	rec := strconv.Itoa(p.Pid) + "\n" + p.Exe + "\n"
	if err := os.WriteFile(path, []byte(rec), 0o644); err != nil {
		return fmt.Errorf("record pid of %s: %w", p.Name, err)
	}
	return nil
}

// ReadPidFile parses a file written by WritePidFile.
func ReadPidFile(path string) (pid int, exe string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, "", err
	}
	parts := strings.SplitN(strings.TrimSpace(string(b)), "\n", 2)
	pid, err = strconv.Atoi(parts[0])
	if err != nil || len(parts) != 2 || pid <= 0 || parts[1] == "" {
		return 0, "", fmt.Errorf("%s: %w", path, ErrMalformedPidFile)
	}
	return pid, parts[1], nil
}

// StopPidFile stops the process recorded in path (if it still runs the
// recorded binary) and removes the file. A missing file is not an error.
func StopPidFile(path string, grace time.Duration) error {
	pid, exe, err := ReadPidFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err == nil {
		if err := StopPid(pid, exe, grace); err != nil {
			return err
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// ErrMalformedPidFile is returned for a pid file that is not "<pid>\n<exe>\n".
var ErrMalformedPidFile = errors.New("malformed pid file")
