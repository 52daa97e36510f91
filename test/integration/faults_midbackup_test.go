//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/runner"
	"github.com/cairnbackup/cairn/pkg/trigger"
	"github.com/cairnbackup/cairn/test/cluster"
	"github.com/cairnbackup/cairn/test/scenario"
)

// The faults below strike while a backup uploads. The PVC gets fillSize of
// fresh random data before each backup (incompressible, never seen by the
// repository) and the store proxy lets uploads through at uploadRate, so
// every backup is still uploading for several seconds when its fault
// comes, after faultAfter bytes.
const (
	fillSize   = 24 << 20
	uploadRate = 2 << 20
	faultAfter = 3 << 20
)

// faultEnv is a configEnv whose BackupStorage reaches MinIO through a
// storeProxy, with one BackupConfiguration (repository directory
// "dir-<config>") that has backed up once already.
type faultEnv struct {
	*configEnv
	proxy  *storeProxy
	config string
	fills  int
}

func newFaultEnv(ctx context.Context, t *testing.T, config string) *faultEnv {
	t.Helper()
	e := &faultEnv{configEnv: newConfigEnv(ctx, t), config: config}
	e.proxy = startStoreProxy(t, cluster.BridgeIP()+":0", e.minio.Addr)
	// The operator writes the storage (finalizer, status) while it starts
	// up: take the newest version on a conflict.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		st, err := e.cairn.StorageV1alpha1().BackupStorages(e.ns).Get(ctx, "minio", metav1.GetOptions{})
		if err != nil {
			return err
		}
		st.Spec.Storage.S3.Endpoint = e.proxy.Endpoint
		_, err = e.cairn.StorageV1alpha1().BackupStorages(e.ns).Update(ctx, st, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	bc := e.pvcConfig(config)
	bc.Spec.Sessions[0].Scheduler.Schedule = "0 3 1 1 *" // only the test's own sessions run
	if _, err := e.cairn.CoreV1alpha1().BackupConfigurations(e.ns).Create(ctx, bc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitConfig(ctx, t, config, 2*time.Minute, "Ready", isPhase(corev1alpha1.BackupConfigurationReady))
	e.fill(ctx, t)
	e.waitBackup(ctx, t, e.trigger(ctx, t))
	return e
}

// fill replaces the PVC's data with fillSize fresh random bytes.
func (e *faultEnv) fill(ctx context.Context, t *testing.T) {
	t.Helper()
	e.fills++
	name := fmt.Sprintf("fill-%d", e.fills)
	script := fmt.Sprintf("set -e; rm -f /data/random-*; head -c %d /dev/urandom > /data/random-%d; sync", fillSize, e.fills)
	spec := scenario.PodSpec(nil, []corev1.Container{scenario.Shell(name, script, scenario.Mount("data", "/data"))}, scenario.ClaimVolume("data", "data"))
	if err := scenario.RunJob(ctx, e.c, e.ns, name, spec); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, e.c.Diagnose(ctx, e.ns, "job-name="+name))
	}
}

// trigger starts a backup of the config, as its CronJob would.
func (e *faultEnv) trigger(ctx context.Context, t *testing.T) string {
	t.Helper()
	bs, err := trigger.Create(ctx, e.cairn, e.ns, e.config, "minutely", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return bs.Name
}

// uploading fills the PVC, starts a backup, lets it upload faultAfter
// bytes at uploadRate and returns the session and its runner pod.
func (e *faultEnv) uploading(ctx context.Context, t *testing.T) (string, *corev1.Pod) {
	t.Helper()
	e.fill(ctx, t)
	e.proxy.limit(uploadRate)
	session := e.trigger(ctx, t)
	e.proxy.waitSent(ctx, t, faultAfter, 2*time.Minute)
	pods, err := e.c.Client().CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: jobs.LabelBackupSession + "=" + session})
	if err != nil || len(pods.Items) != 1 || pods.Items[0].Status.Phase != corev1.PodRunning {
		t.Fatalf("session %s is uploading but its runner pods are %+v (err %v)", session, pods, err)
	}
	return session, &pods.Items[0]
}

// failsFor waits for session to end Failed within within of the fault at
// cause, with every want (lower case) in its Failed Event; then, with the
// store healed and unthrottled, the repository checks clean and the next
// backup succeeds.
func (e *faultEnv) failsFor(ctx context.Context, t *testing.T, session string, cause time.Time, within time.Duration, want ...string) {
	t.Helper()
	got := e.waitSessionEnd(ctx, t, session)
	took := time.Since(cause)
	event := e.failedEvent(ctx, t, session)
	t.Logf("session %s: %s %s after the fault; Event: %s; components: %s", session, got.Status.Phase, took.Round(100*time.Millisecond), event, e.componentErrors(ctx, t, session))
	if got.Status.Phase != corev1alpha1.BackupSessionFailed {
		t.Fatalf("session %s ended %s, want Failed", session, got.Status.Phase)
	}
	for _, w := range want {
		if !strings.Contains(strings.ToLower(event), w) {
			t.Errorf("the Failed Event of %s does not mention %q: %s", session, w, event)
		}
	}
	if took > within {
		t.Errorf("session %s ended %s after the fault, want within %s", session, took.Round(time.Second), within)
	}
	if pods, _ := e.c.Client().CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: jobs.LabelBackupSession + "=" + session}); pods != nil {
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodPending {
				t.Errorf("session %s is final but its runner pod %s is %s", session, p.Name, p.Status.Phase)
			}
		}
	}
	e.proxy.heal(t)
	e.proxy.limit(0)
	e.hostCairn(ctx, t, "dir-"+e.config, "repo", "check")
	// A store that did not answer for minutes made the BackupStorage, and
	// with it the config, NotReady; the next backup runs once Cairn sees
	// the store back.
	e.waitConfig(ctx, t, e.config, 3*time.Minute, "Ready again once the store is back", isPhase(corev1alpha1.BackupConfigurationReady))
	e.waitBackup(ctx, t, e.trigger(ctx, t))
}

// failedEvent returns the message of session's Failed Event.
func (e *faultEnv) failedEvent(ctx context.Context, t *testing.T, session string) string {
	t.Helper()
	var msg string
	_ = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 15*time.Second, true, func(ctx context.Context) (bool, error) {
		evs, err := e.c.Client().CoreV1().Events(e.ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + session + ",reason=Failed"})
		if err != nil || len(evs.Items) == 0 {
			return false, nil
		}
		msg = evs.Items[0].Message
		return true, nil
	})
	if msg == "" {
		t.Fatalf("no Failed Event on BackupSession %s", session)
	}
	return msg
}

// TestRunnerPodFaultsEndTheSession: a runner pod killed mid-upload (deleted
// with no grace period) and one evicted through the Eviction API each end
// their session Failed within seconds, saying so in the Failed Event; the
// repository checks clean and the next backup succeeds.
func TestRunnerPodFaultsEndTheSession(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	e := newFaultEnv(ctx, t, "podfaults")
	kube := e.c.Client()

	session, pod := e.uploading(ctx, t)
	if err := kube.CoreV1().Pods(e.ns).Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	e.failsFor(ctx, t, session, time.Now(), 30*time.Second, pod.Name)

	session, pod = e.uploading(ctx, t)
	ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: pod.Name}}
	if err := kube.PolicyV1().Evictions(e.ns).Evict(ctx, ev); err != nil {
		t.Fatal(err)
	}
	e.failsFor(ctx, t, session, time.Now(), 45*time.Second, "evict")
}

// TestOperatorDeletedMidSession: the operator pod is deleted while a
// backup uploads; the new operator picks the session up, it succeeds, and
// it has exactly one Snapshot and one backup Job.
func TestOperatorDeletedMidSession(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	e := newFaultEnv(ctx, t, "restarted")
	session, _ := e.uploading(ctx, t)
	deleteOperatorPods(ctx, t, e.c.Client())
	e.waitBackup(ctx, t, session)
	snaps, err := e.cairn.StorageV1alpha1().Snapshots(e.ns).List(ctx, metav1.ListOptions{LabelSelector: jobs.LabelBackupSession + "=" + session})
	if err != nil {
		t.Fatal(err)
	}
	js, err := e.c.Client().BatchV1().Jobs(e.ns).List(ctx, metav1.ListOptions{LabelSelector: jobs.LabelBackupSession + "=" + session + "," + jobs.LabelDataComponent + "=" + jobs.ComponentDump})
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps.Items) != 1 || len(js.Items) != 1 {
		t.Fatalf("after the operator restart session %s has %d Snapshots and %d backup Jobs, want 1 and 1", session, len(snaps.Items), len(js.Items))
	}
	e.hostCairn(ctx, t, "dir-restarted", "repo", "check")
}

// TestBackendUnreachableMidBackup: the store stops answering in the middle
// of an upload (stalled: every request held, as a SIGSTOPped or
// partitioned MinIO does) and, in a second backup, goes down (connections
// reset and refused, as a killed MinIO). Each ends the session Failed
// saying the store did not answer (3m9s and 20s after the fault when this
// was written; before the runner's stall watch the stalled one never
// ended); once the store is back the repository checks clean and the next
// backup succeeds.
func TestBackendUnreachableMidBackup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	e := newFaultEnv(ctx, t, "unreachable")

	// Nothing answers a stalled store's requests: the runner gives up once
	// no data moved for its stall timeout.
	session, _ := e.uploading(ctx, t)
	e.proxy.stall()
	e.failsFor(ctx, t, session, time.Now(), runner.DefaultStallTimeout+time.Minute, "stopped answering")

	// A store that is down refuses connections: the store's retries run out.
	session, _ = e.uploading(ctx, t)
	e.proxy.down()
	e.failsFor(ctx, t, session, time.Now(), 90*time.Second, "does not answer")
}
