package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
	"github.com/cairnbackup/cairn/cmd/cairn/internal/repocmd"
	"github.com/cairnbackup/cairn/pkg/bufpool/pooltest"
	"github.com/cairnbackup/cairn/pkg/repo/crypto"
)

// envRunMain makes the test binary behave as the cairn binary, so tests
// can run the real main() in a child process with a terminal of its own.
const envRunMain = "CAIRN_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	// Hundreds of commands each derive a key: with the real 64 MiB, 0.5 s
	// argon2id the package takes a minute. Repositories made here get the
	// cheap test setting; the default itself is tested in pkg/repo.
	repocmd.KeyKDF = crypto.TestKDF
	if os.Getenv(envRunMain) == "1" {
		main()
		return
	}
	// Commands remember unlocked keys in a cache directory: never the
	// user's own (tests that look at the cache set their own).
	dir, err := os.MkdirTemp("", "cairn-keycache-")
	if err != nil {
		panic(err)
	}
	os.Setenv(cli.EnvKeyCacheDir, dir)
	code := pooltest.Run(m) // every command must give back its buffers
	os.RemoveAll(dir)
	os.Exit(code)
}

// openPTY returns a new pseudo-terminal's controller and terminal ends.
func openPTY(t *testing.T) (ctl, tty *os.File) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here (%v)", err)
	}
	ctl = os.NewFile(uintptr(fd), "/dev/ptmx")
	t.Cleanup(func() { ctl.Close() })
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return ctl, tty
}

// ttySession is cairn running in a child process whose stdin, stdout and
// stderr are a pseudo-terminal, as when a person types the command.
type ttySession struct {
	t    *testing.T
	ctl  *os.File
	tty  *os.File
	cmd  *exec.Cmd
	mu   sync.Mutex
	seen bytes.Buffer // everything the terminal showed
	exit chan error
	read chan struct{} // closed when the terminal has nothing more to show
}

// childEnv is the test's environment without any password source, plus env.
func childEnv(env ...string) []string {
	out := []string{envRunMain + "=1"}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case cli.EnvPassword, cli.EnvPasswordFile, cli.EnvNewPassword, envRunMain:
			continue
		}
		out = append(out, kv)
	}
	return append(out, env...)
}

func startOnTTY(t *testing.T, env []string, args ...string) *ttySession {
	t.Helper()
	ctl, tty := openPTY(t)
	s := &ttySession{t: t, ctl: ctl, tty: tty, exit: make(chan error, 1), read: make(chan struct{})}
	s.cmd = exec.Command(os.Args[0], args...)
	s.cmd.Env = childEnv(env...)
	s.cmd.Stdin, s.cmd.Stdout, s.cmd.Stderr = tty, tty, tty
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.cmd.Process.Kill() })
	go func() {
		defer close(s.read)
		buf := make([]byte, 4096)
		for {
			n, err := ctl.Read(buf)
			s.mu.Lock()
			s.seen.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { s.exit <- s.cmd.Wait() }()
	return s
}

func (s *ttySession) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen.String()
}

// expect waits until the terminal has shown want.
func (s *ttySession) expect(want string) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.output(), want) {
		if time.Now().After(deadline) {
			s.t.Fatalf("the terminal never showed %q; it showed:\n%s", want, s.output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// typeLine types text and Enter, as a person would.
func (s *ttySession) typeLine(text string) {
	s.t.Helper()
	if _, err := s.ctl.Write([]byte(text + "\r")); err != nil {
		s.t.Fatal(err)
	}
}

// wait returns the exit code.
func (s *ttySession) wait() int {
	s.t.Helper()
	select {
	case err := <-s.exit:
		// The child's last words may still sit in the terminal: close our
		// end of it, so reading ends after them (EIO), and wait for that.
		s.tty.Close()
		select {
		case <-s.read:
		case <-time.After(10 * time.Second):
			s.t.Fatalf("the terminal's output never ended; it showed:\n%s", s.output())
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			s.t.Fatal(err)
		}
		return 0
	case <-time.After(60 * time.Second):
		s.t.Fatalf("cairn did not exit; the terminal showed:\n%s", s.output())
		return -1
	}
}

func TestPasswordPromptOnATerminal(t *testing.T) {
	repoURL := "file://" + filepath.Join(t.TempDir(), "repo")

	// init asks twice; the answers are not echoed.
	s := startOnTTY(t, nil, "repo", "init", "--repo", repoURL)
	s.expect("Password for the new repository: ")
	s.typeLine("tty secret one")
	s.expect("Repeat the password: ")
	s.typeLine("tty secret one")
	if code := s.wait(); code != 0 {
		t.Fatalf("init exit %d:\n%s", code, s.output())
	}
	if out := s.output(); strings.Contains(out, "tty secret") || !strings.Contains(out, "created repository") {
		t.Fatalf("the password was echoed, or init did not finish:\n%s", out)
	}

	// Other commands ask once, and the password opens the repository.
	s = startOnTTY(t, nil, "repo", "snapshots", "--repo", repoURL)
	s.expect("Repository password: ")
	s.typeLine("tty secret one")
	if code := s.wait(); code != 0 || strings.Contains(s.output(), "tty secret") {
		t.Fatalf("snapshots exit %d:\n%s", code, s.output())
	}

	// key add asks for the current password, then the new one twice, and
	// refuses a mismatch without adding a key.
	s = startOnTTY(t, nil, "repo", "key", "add", "--repo", repoURL)
	s.expect("Repository password: ")
	s.typeLine("tty secret one")
	s.expect("New password: ")
	s.typeLine("second")
	s.expect("Repeat the new password: ")
	s.typeLine("sceond")
	if code := s.wait(); code != cli.ExitUsage || !strings.Contains(s.output(), "do not match") {
		t.Fatalf("mismatch: exit %d (want %d):\n%s", code, cli.ExitUsage, s.output())
	}
	t.Setenv(cli.EnvPassword, "tty secret one")
	t.Setenv(cli.EnvPasswordFile, "")
	if out := mustCairn(t, "repo", "key", "list", "--repo", repoURL); strings.Count(out, "\n") != 2 {
		t.Fatalf("a key was added despite the mismatch:\n%s", out)
	}

	// A wrong password at the prompt is the usual wrong-password error.
	s = startOnTTY(t, nil, "repo", "snapshots", "--repo", repoURL)
	s.expect("Repository password: ")
	s.typeLine("not it")
	if code := s.wait(); code != cli.ExitWrongPassword {
		t.Fatalf("wrong password: exit %d:\n%s", code, s.output())
	}
}

func TestCtrlCAtThePasswordPromptRestoresEcho(t *testing.T) {
	s := startOnTTY(t, nil, "repo", "snapshots", "--repo", "file://"+t.TempDir())
	s.expect("Repository password: ")
	if _, err := s.ctl.Write([]byte{3}); err != nil { // ^C
		t.Fatal(err)
	}
	if code := s.wait(); code != cli.ExitInterrupted {
		t.Fatalf("exit %d after ^C, want %d:\n%s", code, cli.ExitInterrupted, s.output())
	}
	// wait closed our end of the terminal; open it again to look.
	tty, err := os.OpenFile(s.tty.Name(), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if tio.Lflag&unix.ECHO == 0 {
		t.Fatal("the terminal was left with echo off")
	}
}

// TestNoTerminalNoPrompt runs the binary with stdin from /dev/null (a
// character device, but no terminal): it must fail at once with the usual
// message instead of waiting for input.
func TestNoTerminalNoPrompt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "repo", "snapshots", "--repo", "file://"+t.TempDir())
	cmd.Env = childEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run() // stdin is /dev/null
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != cli.ExitUsage || !strings.Contains(stderr.String(), "no password given") {
		t.Fatalf("got %v, stderr %q; want exit %d and 'no password given'", err, stderr.String(), cli.ExitUsage)
	}
}
