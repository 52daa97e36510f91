package proc

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sleepBin(t *testing.T) string {
	t.Helper()
	p, err := filepath.EvalSymlinks("/bin/sleep")
	if err != nil {
		t.Skip("no /bin/sleep")
	}
	return p
}

// TestLifecycle starts a real process, checks it is seen as running, that a
// wrong binary is not mistaken for it (pid reuse), and that Stop ends it.
func TestLifecycle(t *testing.T) {
	sleep := sleepBin(t)
	p, err := Start("sleeper", []string{sleep, "300"}, Options{LogDir: t.TempDir(), Detach: true})
	if err != nil {
		t.Fatal(err)
	}
	if !Runs(p.Pid, sleep) || p.Exited() {
		t.Fatal("started process not seen as running")
	}
	if Runs(p.Pid, "/usr/bin/something-else") {
		t.Error("pid matched a different binary")
	}
	if err := p.Stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if Runs(p.Pid, sleep) {
		t.Error("process still runs after Stop")
	}
	if dead, why := p.Dead(); !dead || !strings.Contains(why, "sleeper exited") {
		t.Errorf("Dead() = %v, %q", dead, why)
	}
}

// TestBadStart checks the errors for a missing program and log directory.
func TestBadStart(t *testing.T) {
	if _, err := Start("x", nil, Options{LogDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "no program") {
		t.Errorf("empty argv: %v", err)
	}
	if _, err := Start("x", []string{"/bin/true"}, Options{}); err == nil || !strings.Contains(err.Error(), "no log directory") {
		t.Errorf("no log dir: %v", err)
	}
	if _, err := Start("x", []string{"/nonexistent/prog"}, Options{LogDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "/nonexistent/prog") {
		t.Errorf("missing binary: %v", err)
	}
}

// TestPidFile records a process, stops it through the file, and checks that
// a file naming a pid that runs another binary leaves that process alone.
func TestPidFile(t *testing.T) {
	sleep := sleepBin(t)
	dir := t.TempDir()
	p, err := Start("rec", []string{sleep, "300"}, Options{LogDir: dir, Detach: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	path := filepath.Join(dir, "rec.pid")
	if err := WritePidFile(path, p); err != nil {
		t.Fatal(err)
	}
	if pid, exe, err := ReadPidFile(path); err != nil || pid != p.Pid || exe != p.Exe {
		t.Fatalf("ReadPidFile = %d %q %v", pid, exe, err)
	}
	foreign := filepath.Join(dir, "foreign.pid")
	if err := os.WriteFile(foreign, []byte(strings.Replace(string(mustRead(t, path)), p.Exe, "/usr/bin/other", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := StopPidFile(foreign, time.Second); err != nil {
		t.Fatal(err)
	}
	if !Runs(p.Pid, sleep) {
		t.Fatal("a pid file naming another binary stopped the process")
	}
	if err := StopPidFile(path, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if Runs(p.Pid, sleep) {
		t.Error("StopPidFile left the process running")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("pid file not removed")
	}
	if err := StopPidFile(path, time.Second); err != nil {
		t.Errorf("missing pid file: %v", err)
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadPidFile(path); !errors.Is(err, ErrMalformedPidFile) {
		t.Errorf("garbage pid file: %v", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWaitMessages checks the three ways Wait fails: timeout with the last
// state, a dead watched process with its log tail, and a fatal check error.
func TestWaitMessages(t *testing.T) {
	ctx := context.Background()
	err := Wait(ctx, 300*time.Millisecond, "the thing", nil, func(context.Context) (bool, string, error) {
		return false, "phase=Pending", nil
	})
	if err == nil || !strings.Contains(err.Error(), "the thing") || !strings.Contains(err.Error(), "phase=Pending") {
		t.Errorf("timeout error %v", err)
	}
	p, err := Start("crasher", []string{"/bin/sh", "-c", "echo boom: port in use; exit 3"}, Options{LogDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	err = Wait(ctx, time.Minute, "crasher to serve", []*Proc{p}, func(context.Context) (bool, string, error) {
		return false, "not yet", nil
	})
	if err == nil || !strings.Contains(err.Error(), "boom: port in use") || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("dead process error %v", err)
	}
	err = Wait(ctx, time.Minute, "x", nil, func(context.Context) (bool, string, error) {
		return false, "", errors.New("forbidden")
	})
	if err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("fatal check error %v", err)
	}
}

// TestHTTPCheck runs against a real server on loopback.
func TestHTTPCheck(t *testing.T) {
	code := http.StatusServiceUnavailable
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }))
	defer srv.Close()
	check := HTTPCheck(srv.URL)
	if done, state, _ := check(context.Background()); done || !strings.Contains(state, "503") {
		t.Errorf("503: done=%v state=%q", done, state)
	}
	code = http.StatusOK
	if done, _, _ := check(context.Background()); !done {
		t.Error("200 not accepted")
	}
	if done, _, _ := HTTPCheck(srv.URL, http.StatusNoContent)(context.Background()); done {
		t.Error("200 accepted when only 204 is")
	}
}

// TestTail covers short, long and missing logs.
func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	if !strings.Contains(Tail(path, 3), "no log") {
		t.Error("missing log")
	}
	if err := os.WriteFile(path, []byte("a\nb\nc\nd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := Tail(path, 2); got != "c\nd" {
		t.Errorf("Tail = %q", got)
	}
	if got := TailLine(path, 3); got != "b | c | d" {
		t.Errorf("TailLine = %q", got)
	}
}
