//go:build integration

package objstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/test/cluster"
	"github.com/cairnbackup/cairn/test/cluster/addons/addontest"
	"github.com/cairnbackup/cairn/test/objstore"
)

func TestMain(m *testing.M) { cluster.Main(m) }

// TestPodsReachServersOnTheBridge starts every emulator on the bridge
// address and has a pod reach each one over HTTP, and checks an object a
// test wrote is what the pod downloads from MinIO through a presigned URL.
// (Debian's busybox wget crashes with -T or -S, so neither is used.)
func TestPodsReachServersOnTheBridge(t *testing.T) {
	c := cluster.Shared(t)
	ns := c.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	addr := cluster.BridgeIP() + ":0"
	for name, start := range map[string]func(context.Context, string) (*objstore.Server, error){
		"minio": objstore.StartMinIO, "fake-gcs": objstore.StartFakeGCS, "azurite": objstore.StartAzurite,
	} {
		srv, err := start(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Stop()
		if err := srv.CreateBucket(ctx, "pods"); err != nil {
			t.Fatal(err)
		}
		b, err := srv.OpenBucket(ctx, "pods")
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if err := b.WriteAll(ctx, "hello.txt", []byte("hello from "+name), nil); err != nil {
			t.Fatal(err)
		}
		url, err := b.SignedURL(ctx, "hello.txt", nil)
		if err != nil {
			if name != "minio" {
				// Only S3 presigning works without a cloud identity; the
				// others prove reachability with a plain GET below.
				url = srv.Endpoint + "/"
			} else {
				t.Fatal(err)
			}
		}
		// Any HTTP answer proves reachability; busybox wget exits 1 on an
		// HTTP error status and names the status on stderr.
		script := fmt.Sprintf(`wget -q -O /tmp/out '%s' 2>/tmp/err || grep -q 'HTTP/1.1 [0-9]' /tmp/err`, url)
		if name == "minio" {
			script = fmt.Sprintf(`wget -q -O- '%s' | grep -qx 'hello from minio'`, url)
		}
		if !strings.HasPrefix(url, "http://"+cluster.BridgeIP()) {
			t.Fatalf("%s URL %s is not on the bridge", name, url)
		}
		if err := addontest.RunPod(ctx, c.Client(), ns, "reach-"+name, "", script); err != nil {
			t.Fatalf("a pod could not reach %s at %s: %v", name, srv.Endpoint, err)
		}
	}
}
