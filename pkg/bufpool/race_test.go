//go:build race

package bufpool

import (
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

const raceChildEnv = "CAIRN_TEST_BUFPOOL_RACE_CHILD"

// TestRaceDetectorSeesPoolBuffers: under -race, two goroutines writing
// one pooled chunk buffer (1 MiB, a class that lives outside the heap in
// normal builds) must be reported by the race detector (issue 14 item 6).
// The racy code runs in a child process, which the detector fails; the
// parent checks that it did.
func TestRaceDetectorSeesPoolBuffers(t *testing.T) {
	if os.Getenv(raceChildEnv) == "1" {
		var p Pool
		b := p.Get(1 << 20)[:1<<20]
		var wg sync.WaitGroup
		for g := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b[4096] = byte(g) // unsynchronised: a data race
			}()
		}
		wg.Wait()
		p.Put(b)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRaceDetectorSeesPoolBuffers$")
	cmd.Env = append(os.Environ(), raceChildEnv+"=1")
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "WARNING: DATA RACE") {
		t.Fatalf("the race detector did not see a race on a pooled buffer:\n%s", out)
	}
}
