// Command demo is `make demo`: it shows, on the local cluster, what Cairn
// does today, and proves each step instead of just printing it. It attaches
// to the cluster that `make cluster-up` started, installs the CRDs, creates
// the sample Cairn objects, shows the API server refusing a broken one, runs
// cairn in non-root Jobs that back up a PVC into MinIO (S3) and restore it
// into a new PVC, and then uses the cairn CLI on this host against the same
// bucket: incremental backup, restore, check, stats.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cairnbackup/cairn/test/cluster"
	"github.com/cairnbackup/cairn/test/crs"
	"github.com/cairnbackup/cairn/test/objstore"
	"github.com/cairnbackup/cairn/test/scenario"
)

const demoNamespace = "cairn-demo"

func main() {
	cairnBin := flag.String("cairn", "bin/cairn", "path of the cairn binary")
	work := flag.String("work", "", "scratch directory (default: a new temporary one)")
	engineOnly := flag.Bool("engine-only", false, "skip the cluster part; show only the data engine with MinIO")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *cairnBin, *work, *engineOnly); err != nil {
		fmt.Fprintln(os.Stderr, "\ndemo failed:", err)
		os.Exit(1)
	}
}

func step(format string, args ...any) {
	fmt.Printf("\n==> "+format+"\n", args...)
}

func run(ctx context.Context, cairnBin, work string, engineOnly bool) error {
	cairnBin, err := filepath.Abs(cairnBin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(cairnBin); err != nil {
		return fmt.Errorf("cairn binary not found at %s: run `make build`", cairnBin)
	}
	if work == "" {
		if work, err = os.MkdirTemp("", "cairn-demo-"); err != nil {
			return err
		}
		defer os.RemoveAll(work)
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
	if err := showAPI(ctx, c); err != nil {
		return err
	}
	// On the bridge, MinIO is reachable from pods and from this host.
	minio, err := startMinIO(ctx, cluster.BridgeIP()+":0")
	if err != nil {
		return err
	}
	defer minio.Stop()
	if err := showJobs(ctx, c, minio, work); err != nil {
		return err
	}
	return showCLI(ctx, cairnBin, work, minio)
}

// showJobs runs the engine round trip in Jobs on the node, in a namespace of
// its own that is removed when it succeeds (and kept to inspect when not).
func showJobs(ctx context.Context, c *cluster.Cluster, minio *objstore.Server, work string) error {
	ns := fmt.Sprintf("cairn-demo-run-%d", time.Now().Unix())
	step("Backing up a PVC and restoring it into a new PVC with cairn Jobs (namespace %s)", ns)
	if _, err := c.Client().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", ns, err)
	}
	if err := c.WaitNamespaceReady(ctx, ns); err != nil {
		return err
	}
	logf := func(format string, args ...any) { fmt.Printf("    "+format+"\n", args...) }
	if err := scenario.EngineRoundTrip(ctx, c, ns, minio, demoBucket, work, logf); err != nil {
		return fmt.Errorf("%w\n(namespace %s is kept for inspection)", err, ns)
	}
	fmt.Println("    the restore Job's diff found the restored PVC identical to the source")
	return c.Client().CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
}

// showAPI installs the CRDs, applies the valid samples into the demo
// namespace and shows that a broken object is refused with a useful message.
func showAPI(ctx context.Context, c *cluster.Cluster) error {
	step("Installing Cairn's CRDs (deploy/crds) with server-side apply")
	resources, err := crs.Install(ctx, c.RESTConfig(), 2*time.Minute)
	if err != nil {
		return err
	}
	fmt.Printf("    %d kinds served\n", len(resources))

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: demoNamespace}}
	if _, err := c.Client().CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", demoNamespace, err)
	}

	step("Creating sample objects in namespace %s (test/testdata/crs/valid.yaml)", demoNamespace)
	valid, err := crs.Samples("valid")
	if err != nil {
		return err
	}
	force := true
	for _, s := range valid {
		ri, err := crs.Resource(c.Dynamic(), resources, s, demoNamespace)
		if err != nil {
			return err
		}
		_, err = ri.Patch(ctx, s.Object.GetName(), types.ApplyPatchType, s.JSON, metav1.PatchOptions{FieldManager: crs.FieldManager, Force: &force})
		if err != nil {
			return fmt.Errorf("apply %s: %w", s.Name(), err)
		}
		fmt.Printf("    applied %s\n", s.Name())
	}
	if err := kubectl(ctx, c.Kubeconfig(), "get", "cairn", "-n", demoNamespace); err != nil {
		return err
	}

	step("Creating a BackupConfiguration whose repository names an undeclared backend")
	invalid, err := crs.Samples("invalid")
	if err != nil {
		return err
	}
	for _, s := range invalid {
		if s.Object.GetName() != "undeclared-backend" {
			continue
		}
		ri, err := crs.Resource(c.Dynamic(), resources, s, demoNamespace)
		if err != nil {
			return err
		}
		_, err = ri.Create(ctx, s.Object, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil || !strings.Contains(err.Error(), s.ExpectedError()) {
			return fmt.Errorf("the API server should have refused %s with %q, got %v", s.Name(), s.ExpectedError(), err)
		}
		fmt.Printf("    refused, as it should be:\n    %v\n", err)
		return nil
	}
	return errors.New("sample undeclared-backend is missing from test/testdata/crs/invalid.yaml")
}

// kubectl runs the pinned kubectl that `make tools` built.
func kubectl(ctx context.Context, kubeconfig string, args ...string) error {
	bin, err := cluster.KubectlPath()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kubectl %s: %w", strings.Join(args, " "), err)
	}
	return nil
}
