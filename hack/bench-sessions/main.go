// Command bench-sessions measures BackupSessions at scale against the
// operator as deployed on the local cluster (`make bench-sessions`): it
// creates a namespace with a default BackupStorage on MinIO, -configs
// small PVCs each with a BackupConfiguration (concurrencyPolicy Allow, so
// several sessions of one config run at once when there are fewer configs
// than sessions), waits until they are Ready, then creates -n
// BackupSessions at once and follows them to their end. It reports:
//
//   - creation → backup Job created latency, p50/p99/max, from the moment
//     this program's informers saw the BackupSession to the moment they saw
//     its first backup Job (milliseconds), and from the objects'
//     creationTimestamps (whole seconds: the API's resolution);
//   - the operator's API writes per successful session, by verb and
//     resource, from its own counter (cairn_api_requests_total, Lease
//     renewals apart), next to the writes it made in an equally long quiet
//     window before the run (the operator is shared: other work in the
//     cluster shows there);
//   - the runners' Snapshot status patches (progress at most every 5 s, the
//     start and the result), seen as Snapshot updates minus the operator's
//     own Snapshot writes, and the backups' mean duration;
//   - the Events the operator recorded, by reason, and the machine's load
//     average before the sessions and at its peak during the run.
//
// It is a script, not a test: it prints a table.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
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
	"github.com/cairnbackup/cairn/pkg/labels"
)

// sessionName is the schedule name of every bench config.
const sessionName = "daily"

func main() {
	n := flag.Int("n", 100, "BackupSessions to create at once")
	configs := flag.Int("configs", 0, "BackupConfigurations (and PVCs) the sessions are spread over; 0 means one per session")
	timeout := flag.Duration("timeout", 20*time.Minute, "give up waiting for the sessions to end after this long")
	out := flag.String("out", "", "also write the result table to this file")
	keep := flag.Bool("keep", false, "keep the namespace and its objects afterwards")
	flag.Parse()
	if *configs <= 0 || *configs > *n {
		*configs = *n
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *n, *configs, *timeout, *out, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench-sessions:", err)
		os.Exit(1)
	}
}

type bench struct {
	opbench.Env
	configs int
}

func run(ctx context.Context, n, configs int, timeout time.Duration, out string, keep bool) error {
	env, err := opbench.Start(ctx, "cairn-bench-sessions")
	if err != nil {
		return err
	}
	defer env.Close()
	b, op := &bench{Env: *env, configs: configs}, env.Op
	if !keep {
		defer b.cleanup()
	}
	fmt.Printf("creating %d PVCs and BackupConfigurations in %s\n", configs, b.NS)
	if err := opbench.Parallel(ctx, configs, 8, b.createPVC); err != nil {
		return err
	}
	if err := opbench.Parallel(ctx, configs, 8, b.createConfig); err != nil {
		return err
	}
	if err := b.waitConfigsReady(ctx, 5*time.Minute); err != nil {
		return err
	}
	w, err := startWatch(ctx, b.Cairn, b.Kube, b.NS)
	if err != nil {
		return err
	}

	// A quiet window as long as the run's write count is compared with:
	// the shared operator's writes for everything else in the cluster.
	quiet := 30 * time.Second
	quietMeter, err := opbench.NewMeter(ctx, b.Kube, op)
	if err != nil {
		return err
	}
	for i := 0; i < 6; i++ {
		time.Sleep(quiet / 6)
		if err := quietMeter.Scrape(ctx); err != nil {
			return err
		}
	}
	quietWrites, _ := quietMeter.Writes()
	fmt.Printf("operator writes in the %s quiet window: %.0f %s\n", quiet, opbench.Sum(quietWrites), describe(quietWrites, 1))
	meter, err := opbench.NewMeter(ctx, b.Kube, quietMeter.Operator())
	if err != nil {
		return err
	}

	ld := &load{before: loadAverage()}
	fmt.Printf("creating %d BackupSessions at once (load average %.1f)\n", n, ld.before)
	start := time.Now()
	if err := opbench.Parallel(ctx, n, 16, b.createSession); err != nil {
		return err
	}
	created := time.Since(start)
	phases, err := b.waitSessionsEnd(ctx, n, start, timeout, meter, ld)
	if err != nil {
		return err
	}
	allFinal := time.Since(start)
	r := w.result()
	fmt.Printf("all final after %s; backup Job created after p50 %s, p99 %s, max %s (%d sessions never got one)\n",
		allFinal.Round(time.Second), ms(r.p(0.5)), ms(r.p(0.99)), ms(r.p(1)), r.missing)
	fmt.Printf("latency deciles: %s\n%s\n", r.deciles(), w.timeline(start))
	succeeded := phases[corev1alpha1.BackupSessionSucceeded]
	if succeeded == 0 {
		return fmt.Errorf("no session succeeded: %v", phases)
	}
	time.Sleep(10 * time.Second) // the last writes after the final phase (runner RBAC removal)
	if err := meter.Scrape(ctx); err != nil {
		return err
	}
	runWindow := time.Since(start)
	writes, leases := meter.Writes()
	writesCell := fmt.Sprintf("**%.1f** %s", opbench.Sum(writes)/float64(succeeded), describe(writes, succeeded))
	if meter.Replaced > 0 {
		writesCell += fmt.Sprintf(" (the operator pod was replaced %d times during the run)", meter.Replaced)
	}
	quietCell := fmt.Sprintf("%.0f", opbench.Sum(quietWrites)*float64(runWindow)/float64(quiet))
	runnerCell := fmt.Sprintf("%.1f", (float64(r.snapshotUpdates)-writes["PATCH snapshots"]-writes["PUT snapshots"])/float64(succeeded))
	leasesCell := fmt.Sprintf("%.0f", leases)
	events, err := operatorEvents(ctx, b.Kube, b.NS, succeeded)
	if err != nil {
		return err
	}
	table := fmt.Sprintf(`| sessions (configs) | succeeded | created in | all final after | Job created p50 / p99 / max (watch) | same from creationTimestamps (1 s resolution) p50 / p99 | operator writes per successful session | operator Events per successful session | operator writes in an equally long quiet window | runner Snapshot patches per session | mean backup duration | Lease renewals | load average |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
| %d (%d) | %d %s | %s | %s | %s / %s / %s | %s / %s | %s | %s | %s | %s | %s | %s | %s |
`, n, configs, succeeded, otherPhases(phases), created.Round(100*time.Millisecond), allFinal.Round(time.Second),
		ms(r.p(0.5)), ms(r.p(0.99)), ms(r.p(1)), secs(r.pStamp(0.5)), secs(r.pStamp(0.99)),
		writesCell, events, quietCell, runnerCell, r.meanBackup.Round(100*time.Millisecond), leasesCell, ld)
	fmt.Print(table)
	if out != "" {
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, []byte(table), 0o644)
	}
	return nil
}

func ms(d time.Duration) string   { return strconv.FormatInt(d.Milliseconds(), 10) + " ms" }
func secs(d time.Duration) string { return strconv.Itoa(int(d.Seconds())) + " s" }

// describe lists the writes per session by "VERB resource", largest first.
func describe(m map[string]float64, sessions int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, m[k]/float64(sessions)))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func otherPhases(p map[corev1alpha1.BackupSessionPhase]int) string {
	var parts []string
	for phase, c := range p {
		if phase != corev1alpha1.BackupSessionSucceeded {
			parts = append(parts, fmt.Sprintf("%d %s", c, phase))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	sort.Strings(parts)
	return "(" + strings.Join(parts, ", ") + ")"
}

func configName(i int) string { return "app-" + strconv.Itoa(i) }

// createPVC makes a small claim of the default StorageClass, provisioned
// when its backup's runner pod first mounts it.
func (b *bench) createPVC(ctx context.Context, i int) error {
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data-" + strconv.Itoa(i)},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("16Mi")}},
		},
	}
	_, err := b.Kube.CoreV1().PersistentVolumeClaims(b.NS).Create(ctx, pvc, metav1.CreateOptions{})
	return err
}

func (b *bench) createConfig(ctx context.Context, i int) error {
	bc := &corev1alpha1.BackupConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: configName(i)},
		Spec: corev1alpha1.BackupConfigurationSpec{
			Target: common.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "data-" + strconv.Itoa(i)},
			Sessions: []corev1alpha1.Session{{
				Name:      sessionName,
				Scheduler: corev1alpha1.SchedulerSpec{Schedule: "0 3 1 1 *", ConcurrencyPolicy: corev1alpha1.AllowConcurrent},
				Addon:     corev1alpha1.AddonInfo{Name: "pvc-addon", Tasks: []corev1alpha1.TaskReference{{Name: "logical-backup"}}},
				Repositories: []corev1alpha1.RepositoryInfo{{Name: configName(i), Directory: configName(i),
					EncryptionSecret: common.ObjectReference{Name: "password"}}},
			}},
		},
	}
	_, err := b.Cairn.CoreV1alpha1().BackupConfigurations(b.NS).Create(ctx, bc, metav1.CreateOptions{})
	return err
}

// createSession creates session i of config i mod configs, as a trigger
// would (the same labels and spec), with a name of its own.
func (b *bench) createSession(ctx context.Context, i int) error {
	config := configName(i % b.configs)
	bs := &corev1alpha1.BackupSession{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%s-%d", config, sessionName, i),
			Labels: map[string]string{labels.Config: config, labels.Session: sessionName}},
		Spec: corev1alpha1.BackupSessionSpec{
			Invoker: common.TypedLocalObjectReference{APIGroup: corev1alpha1.GroupName, Kind: "BackupConfiguration", Name: config},
			Session: sessionName,
		},
	}
	_, err := b.Cairn.CoreV1alpha1().BackupSessions(b.NS).Create(ctx, bs, metav1.CreateOptions{})
	return err
}

func (b *bench) waitConfigsReady(ctx context.Context, timeout time.Duration) error {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); {
		list, err := b.Cairn.CoreV1alpha1().BackupConfigurations(b.NS).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		ready := 0
		for _, bc := range list.Items {
			if bc.Status.Phase == corev1alpha1.BackupConfigurationReady {
				ready++
			}
		}
		if ready == b.configs {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return fmt.Errorf("not all %d BackupConfigurations were Ready after %s", b.configs, timeout)
}

// waitSessionsEnd polls until all n sessions are final, scraping the
// operator's counters on the way, and returns how many ended in each phase.
func (b *bench) waitSessionsEnd(ctx context.Context, n int, start time.Time, timeout time.Duration, meter *opbench.Meter, ld *load) (map[corev1alpha1.BackupSessionPhase]int, error) {
	var last string
	for time.Since(start) < timeout {
		ld.sample()
		if err := meter.Scrape(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "scraping the operator:", err)
		}
		list, err := b.Cairn.CoreV1alpha1().BackupSessions(b.NS).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		phases := map[corev1alpha1.BackupSessionPhase]int{}
		final := 0
		for _, bs := range list.Items {
			phases[bs.Status.Phase]++
			if bs.Status.Phase.IsFinished() {
				final++
			}
		}
		if final == n && len(list.Items) == n {
			return phases, nil
		}
		if now := fmt.Sprint(phases); now != last {
			fmt.Printf("  %s: %v (load average %.1f)\n", time.Since(start).Round(time.Second), phases, loadAverage())
			last = now
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	return nil, fmt.Errorf("not all %d BackupSessions ended within %s", n, timeout)
}

// cleanup deletes the namespace and waits until it is gone, so the node is
// left as it was found.
func (b *bench) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := b.Kube.CoreV1().Namespaces().Delete(ctx, b.NS, metav1.DeleteOptions{}); err != nil {
		fmt.Fprintln(os.Stderr, "deleting", b.NS+":", err)
		return
	}
	for ctx.Err() == nil {
		if _, err := b.Kube.CoreV1().Namespaces().Get(ctx, b.NS, metav1.GetOptions{}); err != nil {
			fmt.Printf("namespace %s deleted\n", b.NS)
			return
		}
		time.Sleep(2 * time.Second)
	}
	fmt.Fprintf(os.Stderr, "namespace %s still terminating after 5 minutes\n", b.NS)
}
