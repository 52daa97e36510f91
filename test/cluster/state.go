package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/cairnbackup/cairn/test/internal/proc"
)

// State is what a running cluster records in <dir>/state.json: enough for a
// later test binary to reuse it, and for `cluster-down` or a recovering
// `cluster-up` to end every process it started by pid.
type State struct {
	// KubeVersion is the Kubernetes release of the binaries.
	KubeVersion string `json:"kubeVersion"`
	// Dir is the state directory.
	Dir string `json:"dir"`
	// Kubeconfig is the admin kubeconfig path.
	Kubeconfig string `json:"kubeconfig"`
	// Server is the API server URL.
	Server string `json:"server"`
	// Ports are the ports the components listen on.
	Ports ports `json:"ports"`
	// Procs are the started processes in start order.
	Procs []proc.Proc `json:"procs"`
	// Ready is set once start-up completed; a state file without it is the
	// trace of a start that crashed half-way.
	Ready bool `json:"ready"`
	// StartedAt is when the start began.
	StartedAt time.Time `json:"startedAt"`
}

// save writes the state atomically (write to a temporary file, rename).
func (s *State) save(path string) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write cluster state: %w", err)
	}
	return os.Rename(tmp, path)
}

// loadState reads the state file; (nil, nil) means there is none.
func loadState(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read cluster state: %w", err)
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("cluster state %s is corrupt (%v); run `make cluster-down` to clean up", path, err)
	}
	return &s, nil
}

// alive reports whether every recorded process still runs.
func (s *State) alive() bool {
	if s == nil || !s.Ready || len(s.Procs) == 0 {
		return false
	}
	for _, p := range s.Procs {
		if !proc.Runs(p.Pid, p.Exe) {
			return false
		}
	}
	return true
}
