package addons

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/test/internal/proc"
)

// TestStartStopProcess runs a real detached process, finds it alive, stops
// it through its pid file and checks it is gone and the pid file removed.
func TestStartStopProcess(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	dir := t.TempDir()
	if err := StartProcess(dir, "sleeper", sleep, "300"); err != nil {
		t.Fatal(err)
	}
	if err := StayUp(dir, "sleeper", 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// Starting again under the same name replaces the first process.
	pid1, _, _ := proc.ReadPidFile(pidFile(dir, "sleeper"))
	if err := StartProcess(dir, "sleeper", sleep, "300"); err != nil {
		t.Fatal(err)
	}
	pid2, bin, _ := proc.ReadPidFile(pidFile(dir, "sleeper"))
	if pid1 == pid2 || proc.Runs(pid1, bin) {
		t.Fatalf("restart left the old process %d running (new %d)", pid1, pid2)
	}
	if err := StopAll(dir); err != nil {
		t.Fatal(err)
	}
	if proc.Runs(pid2, bin) {
		t.Fatalf("process %d still runs after StopAll", pid2)
	}
	if _, err := os.Stat(filepath.Join(Dir(dir), "sleeper.pid")); !os.IsNotExist(err) {
		t.Fatalf("pid file left behind: %v", err)
	}
}

// TestStayUpReportsEarlyExit checks a process that dies at once is reported
// with its log.
func TestStayUpReportsEarlyExit(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	if err := StartProcess(dir, "broken", sh, "-c", "echo 'flag provided but not defined: -x'; exit 2"); err != nil {
		t.Fatal(err)
	}
	err = StayUp(dir, "broken", 2*time.Second)
	if err == nil || !strings.Contains(err.Error(), "flag provided but not defined") {
		t.Fatalf("StayUp = %v; want the exit reported with the log line", err)
	}
}

// TestStopAllLeavesForeignPids checks a pid file naming a process that runs
// another binary is not signalled.
func TestStopAllLeavesForeignPids(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	self := os.Getpid()
	rec := []byte(strconv.Itoa(self) + "\n/nonexistent/other-binary\n")
	if err := os.WriteFile(filepath.Join(Dir(dir), "foreign.pid"), rec, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := StopAll(dir); err != nil {
		t.Fatal(err)
	}
	// Still alive: we are that process.
}

// TestStopAllAfterBinaryReplaced checks that a process whose binary was
// deleted from the cache (a rebuild under a new hash) is still stopped.
func TestStopAllAfterBinaryReplaced(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	dir := t.TempDir()
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "sleep-copy")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := StartProcess(dir, "doomed", bin, "300"); err != nil {
		t.Fatal(err)
	}
	pid, exe, err := proc.ReadPidFile(pidFile(dir, "doomed"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(bin); err != nil {
		t.Fatal(err)
	}
	if alive, _ := Alive(dir, "doomed"); !alive {
		t.Fatal("process with a deleted binary reported as not running")
	}
	if err := StopAll(dir); err != nil {
		t.Fatal(err)
	}
	// The kernel tears an exiting process down in steps; give the reaper a
	// moment before calling it a survivor.
	for deadline := time.Now().Add(2 * time.Second); proc.Alive(pid); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d (%s) still alive after StopAll", pid, exe)
		}
	}
}
