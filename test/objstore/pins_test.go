package objstore

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/test/internal/proc"
)

// TestPinsMatchMakefile keeps the Go constants, hack/mk/storage.mk and the
// tool modules' go.mod files on the same versions, so the harness never
// looks for a binary the Makefile does not build.
func TestPinsMatchMakefile(t *testing.T) {
	mk, err := os.ReadFile("../../hack/mk/storage.mk")
	if err != nil {
		t.Fatal(err)
	}
	for variable, want := range map[string]string{
		"MINIO_VERSION":    MinIOVersion,
		"FAKE_GCS_VERSION": FakeGCSVersion,
		"AZURITE_VERSION":  AzuriteVersion,
	} {
		m := regexp.MustCompile(`(?m)^` + variable + ` :?= (\S+)$`).FindSubmatch(mk)
		if m == nil || string(m[1]) != want {
			t.Errorf("storage.mk %s = %q, Go constant says %q", variable, m, want)
		}
	}
	for gomod, line := range map[string]string{
		"../../hack/tools/minio/go.mod":   "github.com/minio/minio " + MinIOVersion,
		"../../hack/tools/fakegcs/go.mod": "github.com/fsouza/fake-gcs-server " + FakeGCSVersion,
	} {
		b, err := os.ReadFile(gomod)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), line) {
			t.Errorf("%s does not require %q", gomod, line)
		}
	}
}

func TestResolveAddrRejectsUnsafeAddresses(t *testing.T) {
	for addr, want := range map[string]string{
		":9000":           "must name one IP",
		"0.0.0.0:9000":    "must name one IP",
		"localhost:9000":  "must name one IP",
		"127.0.0.1":       "not host:port",
		"127.0.0.1:http":  "invalid port",
		"127.0.0.1:70000": "invalid port",
	} {
		if _, _, err := resolveAddr(addr); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("resolveAddr(%q) = %v, want an error containing %q", addr, err, want)
		}
	}
	host, port, err := resolveAddr("127.0.0.1:0")
	if err != nil || host != "127.0.0.1" || port == 0 {
		t.Fatalf("resolveAddr(127.0.0.1:0) = %q, %d, %v; want a free loopback port", host, port, err)
	}
}

func TestMissingBinaryNamesTheFix(t *testing.T) {
	t.Setenv("CAIRN_CACHE", t.TempDir())
	for name, start := range map[string]func(context.Context, string) (*Server, error){
		"minio": StartMinIO, "fake-gcs-server": StartFakeGCS, "azurite": StartAzurite,
	} {
		_, err := start(context.Background(), "127.0.0.1:0")
		if err == nil || !strings.Contains(err.Error(), "make tools-storage") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s with an empty cache: %v; want one line naming `make tools-storage`", name, err)
		}
	}
}

func TestStartFailureReportsLogTail(t *testing.T) {
	// A real process that prints a reason and exits before it is ready.
	spec := launchSpec{
		name: "broken", kind: KindS3, ops: s3Ops{},
		endpoint: func(host string, port int) string { return fmt.Sprintf("http://%s:%d", host, port) },
		command: func(*Server, string, int, string) ([]string, []string, error) {
			return nil, []string{"/bin/sh", "-c", "echo 'bind: permission denied'; exit 3"}, nil
		},
		probe: func(srv *Server) proc.Check { return proc.HTTPCheck(srv.Endpoint) },
	}
	_, err := start(context.Background(), "127.0.0.1:0", spec)
	if err == nil || !strings.Contains(err.Error(), "exited") || !strings.Contains(err.Error(), "bind: permission denied") {
		t.Fatalf("start = %v; want the exit and the log line", err)
	}
}
