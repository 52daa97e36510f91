// Command bench-operator measures the operator as deployed on the local
// cluster (`make bench-operator`): it creates N BackupConfigurations (one
// PVC each) in one namespace against a BackupStorage on MinIO, and reports
// the time until all are Ready, the operator's peak resident memory
// (VmHWM of its process on this node) and its API writes per minute at
// steady state, by resource (Lease renewals are leader election's and
// counted apart). It is a script, not a test: it prints a table.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/hack/internal/opbench"
	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
)

func main() {
	n := flag.Int("n", 1000, "BackupConfigurations to create")
	steady := flag.Duration("steady", time.Minute, "how long to count writes at steady state")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up waiting for Ready after this long")
	out := flag.String("out", "", "also write the result table to this file")
	keep := flag.Bool("keep", false, "keep the namespace and its objects afterwards")
	profiles := flag.String("profile-dir", "", "save the operator's heap profile here at each new peak of its RSS (the operator must run with --profiling)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *n, *steady, *timeout, *out, *keep, *profiles); err != nil {
		fmt.Fprintln(os.Stderr, "bench-operator:", err)
		os.Exit(1)
	}
}

type bench struct{ opbench.Env }

func run(ctx context.Context, n int, steady, timeout time.Duration, out string, keep bool, profiles string) error {
	env, err := opbench.Start(ctx, "cairn-bench")
	if err != nil {
		return err
	}
	defer env.Close()
	b, op := &bench{*env}, env.Op
	if !keep {
		defer b.Kube.CoreV1().Namespaces().Delete(context.Background(), b.NS, metav1.DeleteOptions{})
	}
	hwmBefore := op.HWM()
	load := loadAverage()
	fmt.Printf("load average before the run: %s\n", load)
	mem := &memory{op: op, profileDir: profiles}
	sampling, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	go mem.follow(sampling)
	fmt.Printf("creating %d PVCs and BackupConfigurations in %s\n", n, b.NS)
	if err := opbench.Parallel(ctx, n, 8, b.createPVC); err != nil {
		return err
	}
	start := time.Now()
	if err := opbench.Parallel(ctx, n, 8, b.createConfig); err != nil {
		return err
	}
	created := time.Since(start)
	ready, err := b.waitReady(ctx, n, start, timeout)
	if err != nil {
		return err
	}
	fmt.Printf("all %d Ready after %s (creating them took %s)\n", n, ready.Round(100*time.Millisecond), created.Round(100*time.Millisecond))
	time.Sleep(10 * time.Second) // let the last status writes and events settle
	before, err := op.Requests(ctx)
	if err != nil {
		return err
	}
	time.Sleep(steady)
	after, err := op.Requests(ctx)
	if err != nil {
		return err
	}
	stopSampling()
	fmt.Print(mem.summary())
	writes, leases := opbench.DiffWrites(before, after)
	perMin := func(v float64) float64 { return v * float64(time.Minute) / float64(steady) }
	mem.mu.Lock()
	heap := mem.peakHeap / (1 << 20)
	mem.mu.Unlock()
	table := fmt.Sprintf(`| configs | load average before | all Ready after | creating them took | operator peak RSS | peak RSS before the run | peak Go heap in use | writes/min at steady state (besides the Lease) | Lease renewals/min |
|---|---|---|---|---|---|---|---|---|
| %d | %s | %s | %s | %.1f MiB | %.1f MiB | %.1f MiB | %.1f %s | %.1f |
`, n, load, ready.Round(100*time.Millisecond), created.Round(100*time.Millisecond), mib(op.HWM()), mib(hwmBefore), heap,
		perMin(opbench.Sum(writes)), describe(writes), perMin(leases))
	fmt.Print(table)
	if out != "" {
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, []byte(table), 0o644)
	}
	return nil
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

// loadAverage is the machine's 1, 5 and 15 minute load averages: the
// cluster shares its cores with whatever else runs.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

func describe(m map[string]float64) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, v))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func (b *bench) createPVC(ctx context.Context, i int) error {
	none := "cairn-bench-unprovisioned" // no provisioner: the claims stay Pending, as the bench only needs them to exist
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data-" + strconv.Itoa(i)},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: &none, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	_, err := b.Kube.CoreV1().PersistentVolumeClaims(b.NS).Create(ctx, pvc, metav1.CreateOptions{})
	return err
}

func (b *bench) createConfig(ctx context.Context, i int) error {
	name := "app-" + strconv.Itoa(i)
	bc := &corev1alpha1.BackupConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1alpha1.BackupConfigurationSpec{
			Target: common.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "data-" + strconv.Itoa(i)},
			Sessions: []corev1alpha1.Session{{
				Name:      "daily",
				Scheduler: corev1alpha1.SchedulerSpec{Schedule: "0 3 * * *"},
				Addon:     corev1alpha1.AddonInfo{Name: "pvc-addon", Tasks: []corev1alpha1.TaskReference{{Name: "logical-backup"}}},
				Repositories: []corev1alpha1.RepositoryInfo{{Name: name, Directory: name,
					EncryptionSecret: common.ObjectReference{Name: "password"}}},
			}},
		},
	}
	_, err := b.Cairn.CoreV1alpha1().BackupConfigurations(b.NS).Create(ctx, bc, metav1.CreateOptions{})
	return err
}

// waitReady polls until all n configs are Ready and returns the time since
// start.
func (b *bench) waitReady(ctx context.Context, n int, start time.Time, timeout time.Duration) (time.Duration, error) {
	last := -1
	for time.Since(start) < timeout {
		list, err := b.Cairn.CoreV1alpha1().BackupConfigurations(b.NS).List(ctx, metav1.ListOptions{})
		if err != nil {
			return 0, err
		}
		ready := 0
		for _, bc := range list.Items {
			if bc.Status.Phase == corev1alpha1.BackupConfigurationReady {
				ready++
			}
		}
		if ready == n {
			return time.Since(start), nil
		}
		if ready != last {
			fmt.Printf("  %s: %d/%d Ready\n", time.Since(start).Round(time.Second), ready, n)
			last = ready
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return 0, fmt.Errorf("only some of %d BackupConfigurations were Ready after %s", n, timeout)
}
