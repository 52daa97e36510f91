// Command demo is `make demo`: Cairn's whole story on the local cluster,
// proving each step instead of just printing it. Act one uses the operator
// as `make deploy` installed it and the kubectl plugin: a sample app
// writes to a PVC, a BackupStorage on MinIO, a RetentionPolicy and a
// BackupConfiguration are applied, `kubectl cairn trigger` backs up,
// `kubectl cairn status` shows it, the data is damaged and `kubectl cairn
// restore` brings it back (checked byte for byte against the app's own
// checksums), and `kubectl cairn download` restores the same snapshot on
// this machine straight from the bucket. Act two is the data engine alone:
// the cairn CLI on this host against the same bucket (incremental backup,
// restore, check, stats).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	"github.com/cairnbackup/cairn/test/cluster"
)

const demoNamespace = "cairn-demo"

func main() {
	cairnBin := flag.String("cairn", "bin/cairn", "path of the cairn binary")
	pluginBin := flag.String("plugin", "bin/kubectl-cairn", "path of the kubectl-cairn plugin")
	work := flag.String("work", "", "scratch directory, kept afterwards (default: a new temporary one, removed)")
	engineOnly := flag.Bool("engine-only", false, "skip the cluster; show only the data engine with MinIO")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *cairnBin, *pluginBin, *work, *engineOnly); err != nil {
		fmt.Fprintln(os.Stderr, "\ndemo failed:", err)
		os.Exit(1)
	}
}

func step(format string, args ...any) {
	fmt.Printf("\n==> "+format+"\n", args...)
}

// scratchEntries are what the demo writes in its work directory; a
// re-run with the same -work removes them first.
var scratchEntries = []string{"notes-download", "app-data", "restored", "password"}

func run(ctx context.Context, cairnBin, pluginBin, work string, engineOnly bool) error {
	start := time.Now()
	bins := map[string]*string{"cairn": &cairnBin, "kubectl-cairn": &pluginBin}
	for name, p := range bins {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("%s not found at %s: run make build", name, abs)
		}
		*p = abs
	}
	var err error
	keepWork := work != ""
	if work == "" {
		if work, err = os.MkdirTemp("", "cairn-demo-"); err != nil {
			return err
		}
		defer os.RemoveAll(work)
	} else {
		if work, err = filepath.Abs(work); err != nil {
			return err
		}
		for _, e := range scratchEntries {
			if err := os.RemoveAll(filepath.Join(work, e)); err != nil {
				return err
			}
		}
		if err := os.MkdirAll(work, 0o755); err != nil {
			return err
		}
	}
	if engineOnly {
		minio, err := startMinIO(ctx, "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer minio.Stop()
		return showCLI(ctx, cairnBin, work, minio)
	}

	step("Attaching to the local cluster")
	c, err := cluster.Attach(ctx, cluster.Options{})
	if err != nil {
		return err
	}
	fmt.Printf("    KUBECONFIG=%s\n", c.Kubeconfig())
	kubectl, err := cluster.KubectlPath()
	if err != nil {
		return err
	}
	cc, err := cairnclient.NewForConfig(c.RESTConfig())
	if err != nil {
		return err
	}
	// On the bridge, MinIO is reachable from pods and from this host.
	minio, err := startMinIO(ctx, cluster.BridgeIP()+":0")
	if err != nil {
		return err
	}
	defer minio.Stop()
	pw := make([]byte, 16)
	_, _ = rand.Read(pw)
	s := &story{c: c, cairn: cc, kubectl: kubectl, work: work, minio: minio, password: hex.EncodeToString(pw), keepWork: keepWork,
		pathEnv: filepath.Dir(pluginBin) + string(os.PathListSeparator) + os.Getenv("PATH")}
	if err := s.run(ctx); err != nil {
		return fmt.Errorf("%w\n(namespace %s is kept for inspection: kubectl cairn -n %s status)", err, demoNamespace, demoNamespace)
	}
	s.summary(time.Since(start))

	step("Act two: the data engine alone, no cluster (what works when the cluster is gone)")
	if err := showCLI(ctx, cairnBin, work, minio); err != nil {
		return err
	}
	step("Done in %s in all. `make cluster-down` stops the cluster.", time.Since(start).Round(time.Second))
	return nil
}
