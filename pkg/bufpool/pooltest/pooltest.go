// Package pooltest holds the check that test packages of the pipeline run
// after their tests: large pooled buffers live outside the Go heap, so a
// buffer some path (an error path, a cancellation) never gives back is
// memory the process never gets back, and such a leak must fail the tests.
package pooltest

import (
	"fmt"
	"os"
	"testing"

	"github.com/cairnbackup/cairn/pkg/bufpool"
)

// Run runs the package's tests and returns their exit code, turned into a
// failure if any bufpool.Shared buffer is still out afterwards. Use it as
// `func TestMain(m *testing.M) { os.Exit(pooltest.Run(m)) }`.
func Run(m *testing.M) int {
	code := m.Run()
	if n := bufpool.Shared.InUse(); n != 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "bufpool: %d bytes of pooled buffers were never given back\n", n)
		code = 1
	}
	return code
}
