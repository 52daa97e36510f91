package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// startTimeout bounds how long a server may take to answer its readiness
// probe; a server that is not up by then is reported with its last log lines.
const startTimeout = 60 * time.Second

// stopTimeout is how long Stop waits after SIGTERM before sending SIGKILL.
const stopTimeout = 10 * time.Second

// process is one emulator child process: its own process group, its output
// in a log file inside its state directory, and a channel closed on exit.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error
}

// startProcess launches argv with env added to the current environment,
// writing stdout and stderr to name.log in dir.
func startProcess(name, dir string, env []string, argv ...string) (*process, error) {
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("objstore: create %s log: %w", name, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Dir = dir
	// A group of its own, so Stop reaches any children (node may fork) and a
	// Ctrl-C aimed at `go test` does not race our orderly shutdown.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("objstore: start %s (%s): %w", name, argv[0], err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// logTail returns the last lines of the process log, for error messages.
func (p *process) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	if len(lines) == 1 && lines[0] == "" {
		return "(log empty)"
	}
	return strings.Join(lines, " | ")
}

// waitReady polls probe until it succeeds, the process exits, ctx ends or
// startTimeout passes. Every failure names the last probe error and the
// log tail, so a broken start never looks like a hang.
func (p *process) waitReady(ctx context.Context, probe func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		last = probe(pctx)
		pcancel()
		if last == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("objstore: %s exited before it was ready (%v); log: %s", p.name, p.waitErr, p.logTail())
		case <-ctx.Done():
			return fmt.Errorf("objstore: %s not ready (%v); last probe: %v; log: %s", p.name, ctx.Err(), last, p.logTail())
		case <-tick.C:
		}
	}
}

// stop ends the process group: SIGTERM, then SIGKILL after stopTimeout.
// It waits for the exit so no emulator outlives its test.
func (p *process) stop() error {
	if p.exited() {
		return nil
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
		return fmt.Errorf("objstore: %s (pid %d) did not exit after SIGKILL", p.name, pgid)
	}
}

// httpProbe returns a probe that succeeds when GET url answers with one of
// the accepted status codes (any code when none are given).
func httpProbe(url string, accept ...int) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if len(accept) == 0 {
			return nil
		}
		for _, code := range accept {
			if resp.StatusCode == code {
				return nil
			}
		}
		return fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
}

// resolveAddr checks that addr ("host:port") names a host this harness may
// serve on and picks a free port when the port is 0. Only explicit IP
// addresses are accepted: an empty host or 0.0.0.0 would expose the server
// on every interface, which the network rules here forbid.
func resolveAddr(addr string) (host string, port int, err error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("objstore: address %q is not host:port (use e.g. 127.0.0.1:0): %v", addr, err)
	}
	ip := net.ParseIP(h)
	if ip == nil || ip.IsUnspecified() {
		return "", 0, fmt.Errorf("objstore: address %q must name one IP (127.0.0.1 or the cluster bridge address), not all interfaces or a hostname", addr)
	}
	port, err = strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("objstore: address %q has an invalid port (want 0-65535; 0 picks a free one)", addr)
	}
	if port == 0 {
		port, err = freePort(h)
		if err != nil {
			return "", 0, err
		}
	}
	return h, port, nil
}

// freePort asks the kernel for an unused TCP port on host.
func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("objstore: cannot listen on %s (is the address assigned to this machine?): %v", host, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// errAddrInUse tells startWithRetry that a start failed because another
// process took the picked port between freePort and the server's bind.
var errAddrInUse = errors.New("address already in use")

// isAddrInUse reports whether a start failure looks like a lost port race.
func isAddrInUse(p *process, err error) bool {
	if err == nil || p == nil {
		return false
	}
	b, _ := os.ReadFile(p.logPath)
	return bytes.Contains(bytes.ToLower(b), []byte("address already in use")) || bytes.Contains(b, []byte("EADDRINUSE"))
}
