package objstore

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/cairnbackup/cairn/test/internal/proc"
)

// startTimeout bounds how long a server may take to answer its readiness
// probe; a server that is not up by then is reported with its last log lines.
const startTimeout = 60 * time.Second

// stopTimeout is how long Stop waits after SIGTERM before sending SIGKILL.
const stopTimeout = 10 * time.Second

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

// errAddrInUse tells start that a start failed because another process took
// the picked port between freePort and the server's bind.
var errAddrInUse = errors.New("address already in use")

// lostPortRace reports whether the server's log says its port was taken.
func lostPortRace(p *proc.Proc) bool {
	b, _ := os.ReadFile(p.Log)
	return bytes.Contains(bytes.ToLower(b), []byte("address already in use")) || bytes.Contains(b, []byte("EADDRINUSE"))
}
