//go:build integration

package cluster

import (
	"bytes"
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/test/internal/proc"
)

// TestCrashRecovery kills every process of a cluster with SIGKILL while a
// pod runs (as a crash or an OOM kill of the test binary's session would),
// then checks that Start recovers from the leftovers instead of failing,
// that the orphaned container is gone, that the new cluster runs a Job, and
// that Down leaves nothing behind: no process, mount, bridge or state.
// It needs the machine to itself, so it takes the start lock; a cluster
// from `make cluster-up` is replaced and left running at the end.
func TestCrashRecovery(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	var logBuf bytes.Buffer
	opts := Options{Log: &logBuf}.withDefaults()
	// Same order as Main (users, then start) so the two never deadlock.
	users, err := lockFile(usersLockPath(opts.Dir), true)
	if err != nil {
		t.Fatal(err)
	}
	defer users.unlock()
	lock, err := lockFile(startLockPath(opts.Dir), true)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.unlock()

	c, attachErr := Attach(ctx, opts)
	wasRunning := attachErr == nil
	if !wasRunning {
		c = startOrFail(ctx, t, opts, &logBuf)
	}
	shim := runSleeper(ctx, t, c)

	for _, p := range c.state.Procs {
		_ = syscall.Kill(p.Pid, syscall.SIGKILL)
	}
	if !processAlive(shim) {
		t.Fatalf("the pod's shim (pid %d) died with containerd; the test no longer covers orphaned containers", shim)
	}

	logBuf.Reset()
	c = startOrFail(ctx, t, opts, &logBuf)
	if !strings.Contains(logBuf.String(), "cleaning up leftovers") {
		t.Errorf("second start did not report the clean-up; log:\n%s", logBuf.String())
	}
	if processAlive(shim) {
		t.Errorf("orphaned shim pid %d still runs after recovery", shim)
	}
	runJob(ctx, t, c)

	if err := Down(opts); err != nil {
		t.Fatalf("down: %v", err)
	}
	assertClean(t, opts.Dir)
	if wasRunning {
		startOrFail(ctx, t, opts, &logBuf)
	}
}

func startOrFail(ctx context.Context, t *testing.T, opts Options, log *bytes.Buffer) *Cluster {
	t.Helper()
	c, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("start: %v\nlog:\n%s", err, log.String())
	}
	return c
}

// runSleeper starts a long-running pod and returns the pid of its
// containerd shim.
func runSleeper(ctx context.Context, t *testing.T, c *Cluster) int {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "sleeper", Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "sleep", Image: BusyboxImage, ImagePullPolicy: corev1.PullNever,
			Command: []string{"sleep", "3600"},
		}}},
	}
	if _, err := c.client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := waitFor(ctx, 2*time.Minute, "pod sleeper to run", nil, func(ctx context.Context) (bool, string) {
		p, err := c.client.CoreV1().Pods("default").Get(ctx, "sleeper", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return p.Status.Phase == corev1.PodRunning, c.podSummary(ctx, "default", "")
	})
	if err != nil {
		t.Fatal(err)
	}
	socket := layout{dir: c.state.Dir}.socket()
	for _, p := range listProcs() {
		if len(p.cmdline) > 0 && strings.Contains(p.cmdline[0], "containerd-shim") && hasArg(p.cmdline, "-address", socket) {
			return p.pid
		}
	}
	t.Fatal("no containerd shim found for the running pod")
	return 0
}

// runJob runs a one-container Job to completion on c.
func runJob(ctx context.Context, t *testing.T, c *Cluster) {
	t.Helper()
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "after-recovery"},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "true", Image: BusyboxImage, ImagePullPolicy: corev1.PullNever,
				Command: []string{"sh", "-c", "echo recovered"}}},
		}}},
	}
	if _, err := c.client.BatchV1().Jobs("default").Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitJob(ctx, "default", job.Name, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
}

// assertClean checks that nothing of the cluster in dir is left.
func assertClean(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("state dir %s still exists (%v)", dir, err)
	}
	if _, err := os.Stat("/sys/class/net/" + BridgeName); err == nil {
		t.Errorf("bridge %s still exists", BridgeName)
	}
	if mps, _ := mountsUnder(dir); len(mps) > 0 {
		t.Errorf("mounts left under %s: %q", dir, mps)
	}
	for _, p := range listProcs() {
		if strings.Contains(strings.Join(p.cmdline, " "), dir+"/") {
			t.Errorf("process %d still runs: %q", p.pid, p.cmdline)
		}
	}
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	return proc.Alive(pid)
}
