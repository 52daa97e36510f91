package backupsession

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/names"
)

// snapName is <repository>-<session>-<unix seconds of the BackupSession>.
var snapName = names.Snapshot("web-repo", "daily", time.Date(2026, 12, 3, 10, 29, 0, 0, time.UTC).Unix())

func TestSessionRunsToSuccess(t *testing.T) {
	k, c := setup()
	f := newFixture(t, k, c)
	f.sync("web-daily-1")

	snap := f.snapshot(snapName)
	if snap.Spec.BackupSession != "web-daily-1" || snap.Spec.Repository != "web-repo" || snap.Annotations[ComponentsAnnotation] != jobs.ComponentDump ||
		len(snap.OwnerReferences) != 1 || snap.OwnerReferences[0].Kind != "Repository" || snap.Status.TotalComponents != 1 {
		t.Fatalf("Snapshot %+v", snap)
	}
	job, err := f.Kube.BatchV1().Jobs("app").Get(f.Ctx, names.BackupJob("web-daily-1", "web-repo", jobs.ComponentDump), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := job.Spec.Template.Spec
	args := strings.Join(pod.Containers[0].Args, " ")
	want := "backup --namespace=app --backup-session=web-daily-1 --paths=/cairn-data --exclude= --snapshot=" + snapName + " --component=dump"
	if args != want || pod.Containers[0].Image != "cairn.local/cairn:test" || *job.Spec.BackoffLimit != 0 || job.Spec.ActiveDeadlineSeconds == nil {
		t.Fatalf("Job args %q (want %q), image %s, backoff %d, deadline %v", args, want, pod.Containers[0].Image, *job.Spec.BackoffLimit, job.Spec.ActiveDeadlineSeconds)
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range pod.Containers[0].VolumeMounts {
		mounts[m.MountPath] = m
	}
	if !mounts[jobs.PVCMountPath].ReadOnly || mounts["/tmp"].Name != "scratch" || !*pod.Containers[0].SecurityContext.ReadOnlyRootFilesystem {
		t.Fatalf("mounts %+v", mounts)
	}
	// The runner may read only the session's objects, across namespaces.
	role, err := f.Kube.RbacV1().Roles("infra").Get(f.Ctx, names.Join(63, "cairn", "backup", "app", "web-daily-1"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, r := range role.Rules {
		got[r.Resources[0]] = r.ResourceNames
	}
	if len(got) != 2 || got["backupstorages"][0] != "s3" || got["secrets"][0] != "s3-creds" {
		t.Fatalf("runner Role in the storage's namespace: %+v", role.Rules)
	}
	if bs := f.session("web-daily-1"); bs.Status.Phase != corev1alpha1.BackupSessionPending || bs.Status.Deadline == nil || bs.Status.TotalSnapshots != 1 {
		t.Fatalf("after start: %+v", bs.Status)
	}

	f.setComponent(snapName, jobs.ComponentDump, storagev1alpha1.ComponentRunning, "")
	f.sync("web-daily-1")
	if bs := f.session("web-daily-1"); bs.Status.Phase != corev1alpha1.BackupSessionRunning {
		t.Fatalf("phase %s while the runner runs", bs.Status.Phase)
	}
	f.setComponent(snapName, jobs.ComponentDump, storagev1alpha1.ComponentSucceeded, "")
	f.setJob(job.Name, batchv1.JobComplete)
	f.sync("web-daily-1") // the Snapshot's phase becomes Succeeded
	f.sync("web-daily-1") // retention: this config names no policy, which fails retention, not the backup
	bs := f.session("web-daily-1")
	if bs.Status.Phase != corev1alpha1.BackupSessionSucceeded || bs.Status.Duration == "" ||
		!hasCondition(bs, corev1alpha1.ConditionRetentionPolicyApplied, metav1.ConditionFalse, "no RetentionPolicy applies") {
		t.Fatalf("phase %s, status %+v", bs.Status.Phase, bs.Status)
	}
	if s := f.snapshot(snapName); s.Status.Phase != storagev1alpha1.SnapshotSucceeded {
		t.Fatalf("snapshot phase %s", s.Status.Phase)
	}
	// Finished: the runner's access goes.
	f.sync("web-daily-1")
	if _, err := f.Kube.RbacV1().Roles("infra").Get(f.Ctx, role.Name, metav1.GetOptions{}); err == nil {
		t.Fatal("the runner's Role outlived its session")
	}
	// A restart that syncs again creates nothing twice.
	if writes := f.sync("web-daily-1"); len(writes) != 0 {
		t.Fatalf("a finished session made writes: %v", writes)
	}
}

func TestFailuresTheRunnerCannotReport(t *testing.T) {
	jobName := names.BackupJob("web-daily-1", "web-repo", jobs.ComponentDump)
	cases := []struct {
		name  string
		cause func(f *fixture)
		msg   string
	}{
		{"job failed, OOM-killed", func(f *fixture) {
			f.addPod(jobName, corev1.PodFailed, func(p *corev1.Pod) {
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "backup", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}}}}
			})
			f.setJob(jobName, batchv1.JobFailed)
		}, "OOMKilled (exit code 137)"},
		{"job deleted", func(f *fixture) {
			if err := f.Kube.BatchV1().Jobs("app").Delete(f.Ctx, jobName, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			f.Refresh()
		}, "was deleted before it finished"},
		{"image cannot be pulled", func(f *fixture) {
			f.addPod(jobName, corev1.PodPending, func(p *corev1.Pod) {
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "backup", Image: "nope:1", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "not found"}}}}
			})
		}, "cannot be pulled"},
		{"unschedulable too long", func(f *fixture) {
			f.addPod(jobName, corev1.PodPending, func(p *corev1.Pod) {
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
					LastTransitionTime: metav1.NewTime(f.Now.Add(-11 * time.Minute)), Message: "0/1 nodes are available: insufficient memory"}}
			})
		}, "could not be scheduled for 10m0s: 0/1 nodes are available"},
		{"deadline passed", func(f *fixture) { f.Now = f.Now.Add(2 * time.Hour) }, "did not finish by its deadline"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, c := setup()
			f := newFixture(t, k, c)
			f.sync("web-daily-1")
			tc.cause(f)
			f.sync("web-daily-1")
			bs := f.session("web-daily-1")
			if hasPods := f.activePods(); hasPods {
				// Not final while a runner pod is there: it goes first.
				if bs.Status.Phase.IsFinished() {
					t.Fatalf("phase %s while runner pods remain", bs.Status.Phase)
				}
				f.deletePods()
				f.sync("web-daily-1")
				bs = f.session("web-daily-1")
			}
			if bs.Status.Phase != corev1alpha1.BackupSessionFailed {
				t.Fatalf("phase %s, conditions %+v", bs.Status.Phase, bs.Status.Conditions)
			}
			all := ""
			for _, c := range bs.Status.Conditions {
				all += c.Message + " | "
			}
			for _, comp := range f.snapshot(snapName).Status.Components {
				all += comp.Error
			}
			if !strings.Contains(all, tc.msg) {
				t.Fatalf("no reason mentioning %q in %q", tc.msg, all)
			}
		})
	}
}

func TestSessionsThatCannotRun(t *testing.T) {
	cases := []struct {
		name   string
		mod    func(*corev1alpha1.BackupConfiguration)
		extra  []runtime.Object
		phase  corev1alpha1.BackupSessionPhase
		reason string
	}{
		{"config not ready", func(bc *corev1alpha1.BackupConfiguration) { bc.Status.Phase = corev1alpha1.BackupConfigurationNotReady },
			nil, corev1alpha1.BackupSessionFailed, "not Ready"},
		{"forbid while another runs", func(bc *corev1alpha1.BackupConfiguration) {
			bc.Spec.Sessions[0].Scheduler.ConcurrencyPolicy = corev1alpha1.ForbidConcurrent
		}, []runtime.Object{&corev1alpha1.BackupSession{
			ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web-daily-0"},
			Spec:       corev1alpha1.BackupSessionSpec{Invoker: corev1alpha1.BackupSessionSpec{}.Invoker, Session: "daily"},
			Status: corev1alpha1.BackupSessionStatus{Phase: corev1alpha1.BackupSessionRunning,
				Conditions: []metav1.Condition{{Type: corev1alpha1.ConditionSnapshotsCreated, Status: metav1.ConditionTrue}}},
		}}, corev1alpha1.BackupSessionSkipped, "concurrencyPolicy is Forbid"},
		{"a restore of the target holds its backups", func(*corev1alpha1.BackupConfiguration) {}, []runtime.Object{&corev1alpha1.RestoreSession{
			ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "undo"},
			Status: corev1alpha1.RestoreSessionStatus{Phase: corev1alpha1.RestoreRunning, PausedBackups: []common.TypedObjectReference{
				{APIGroup: corev1alpha1.GroupName, Kind: "BackupConfiguration", Name: "web", Namespace: "app"}}},
		}}, corev1alpha1.BackupSessionSkipped, "RestoreSession undo is restoring the target"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, c := setup(tc.mod)
			for _, e := range tc.extra {
				if other, ok := e.(*corev1alpha1.BackupSession); ok {
					other.Spec.Invoker.Name, other.Spec.Invoker.Kind = "web", "BackupConfiguration"
				}
			}
			f := newFixture(t, k, append(c, tc.extra...))
			f.sync("web-daily-1")
			bs := f.session("web-daily-1")
			if bs.Status.Phase != tc.phase || !hasAnyCondition(bs, tc.reason) {
				t.Fatalf("phase %s, conditions %+v; want %s mentioning %q", bs.Status.Phase, bs.Status.Conditions, tc.phase, tc.reason)
			}
			if js, _ := f.Kube.BatchV1().Jobs("app").List(f.Ctx, metav1.ListOptions{}); len(js.Items) != 0 {
				t.Fatalf("%d Jobs created for a session that cannot run", len(js.Items))
			}
		})
	}
}

func TestFinishedRestoreHoldsNoBackup(t *testing.T) {
	k, c := setup()
	done := &corev1alpha1.RestoreSession{
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "undo"},
		Status: corev1alpha1.RestoreSessionStatus{Phase: corev1alpha1.RestoreSucceeded, PausedBackups: []common.TypedObjectReference{
			{APIGroup: corev1alpha1.GroupName, Kind: "BackupConfiguration", Name: "web", Namespace: "app"}}},
	}
	f := newFixture(t, k, append(c, done))
	f.sync("web-daily-1")
	if bs := f.session("web-daily-1"); bs.Status.Phase.IsFinished() || !hasCondition(bs, corev1alpha1.ConditionBackupJobsCreated, metav1.ConditionTrue, "") {
		t.Fatalf("a backup after its target's restore finished: phase %s, conditions %+v", bs.Status.Phase, bs.Status.Conditions)
	}
}

func hasAnyCondition(bs *corev1alpha1.BackupSession, msg string) bool {
	for _, c := range bs.Status.Conditions {
		if strings.Contains(c.Message, msg) {
			return true
		}
	}
	return false
}

// addPod adds a runner pod of job in phase, as the Job controller would.
func (f *fixture) addPod(job string, phase corev1.PodPhase, mod func(*corev1.Pod)) {
	f.t.Helper()
	j, err := f.Kube.BatchV1().Jobs("app").Get(f.Ctx, job, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: job + "-x", Labels: j.Spec.Template.Labels}, Status: corev1.PodStatus{Phase: phase}}
	mod(p)
	if _, err := f.Kube.CoreV1().Pods("app").Create(f.Ctx, p, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	f.Refresh()
}

func (f *fixture) activePods() bool {
	pods, _ := f.Kube.CoreV1().Pods("app").List(f.Ctx, metav1.ListOptions{})
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			return true
		}
	}
	return false
}

func (f *fixture) deletePods() {
	pods, _ := f.Kube.CoreV1().Pods("app").List(f.Ctx, metav1.ListOptions{})
	for _, p := range pods.Items {
		_ = f.Kube.CoreV1().Pods("app").Delete(f.Ctx, p.Name, metav1.DeleteOptions{})
	}
	f.Refresh()
}

func TestHistoryLimitKeepsTheNewestFinishedSessions(t *testing.T) {
	k, c := setup(func(bc *corev1alpha1.BackupConfiguration) { bc.Spec.Sessions[0].SessionHistoryLimit = 2 })
	session := func(name string, minute int, phase corev1alpha1.BackupSessionPhase) *corev1alpha1.BackupSession {
		return &corev1alpha1.BackupSession{
			ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: name, CreationTimestamp: metav1.NewTime(time.Date(2026, 12, 1, 0, minute, 0, 0, time.UTC))},
			Spec: corev1alpha1.BackupSessionSpec{Session: "daily",
				Invoker: common.TypedLocalObjectReference{APIGroup: corev1alpha1.GroupName, Kind: "BackupConfiguration", Name: "web"}},
			Status: corev1alpha1.BackupSessionStatus{Phase: phase},
		}
	}
	c = append(c[:len(c)-1], // drop the fixture's pending session
		session("s1", 1, corev1alpha1.BackupSessionSucceeded), session("s2", 2, corev1alpha1.BackupSessionFailed),
		session("s3", 3, corev1alpha1.BackupSessionSucceeded), session("s4", 4, corev1alpha1.BackupSessionRunning),
		session("s5", 5, corev1alpha1.BackupSessionSkipped))
	f := newFixture(t, k, c)
	f.sync("s5")
	left, _ := f.Cairn.CoreV1alpha1().BackupSessions("app").List(f.Ctx, metav1.ListOptions{})
	var names []string
	for _, s := range left.Items {
		names = append(names, s.Name)
	}
	if strings.Join(names, ",") != "s3,s4,s5" {
		t.Fatalf("sessions left %v, want the 2 newest finished (s3, s5) and the running s4", names)
	}
}

func TestFailedSessionIsRetriedAfterItsDelay(t *testing.T) {
	k, c := setup(func(bc *corev1alpha1.BackupConfiguration) {
		bc.Spec.Sessions[0].RetryConfig = &corev1alpha1.RetryConfig{MaxRetry: 2, Delay: &metav1.Duration{Duration: time.Minute}}
	})
	failed := c[len(c)-1].(*corev1alpha1.BackupSession)
	failed.Spec.RetryLeft = 2
	failed.Status.Phase = corev1alpha1.BackupSessionFailed
	f := newFixture(t, k, c)
	f.sync("web-daily-1")
	bs := f.session("web-daily-1")
	if bs.Status.NextRetry == nil || !bs.Status.NextRetry.Time.Equal(f.Now.Add(time.Minute)) {
		t.Fatalf("nextRetry %v, want now+1m", bs.Status.NextRetry)
	}
	f.sync("web-daily-1")
	if _, err := f.Cairn.CoreV1alpha1().BackupSessions("app").Get(f.Ctx, "web-daily-1-retry-1", metav1.GetOptions{}); err == nil {
		t.Fatal("retried before the delay passed")
	}
	f.Now = f.Now.Add(time.Minute)
	f.sync("web-daily-1")
	r1, err := f.Cairn.CoreV1alpha1().BackupSessions("app").Get(f.Ctx, "web-daily-1-retry-1", metav1.GetOptions{})
	if err != nil || r1.Spec.RetryLeft != 1 || r1.Spec.Invoker.Name != "web" {
		t.Fatalf("retry session %+v, err %v", r1, err)
	}
	if bs := f.session("web-daily-1"); bs.Status.Retried == nil || !*bs.Status.Retried {
		t.Fatal("status.retried not set")
	}
	// The retry fails too: its own retry is -retry-2, with none left after it.
	r1.Status.Phase = corev1alpha1.BackupSessionFailed
	next := metav1.NewTime(f.Now)
	r1.Status.NextRetry = &next
	if _, err := f.Cairn.CoreV1alpha1().BackupSessions("app").UpdateStatus(f.Ctx, r1, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.Refresh()
	f.sync("web-daily-1-retry-1")
	if r2, err := f.Cairn.CoreV1alpha1().BackupSessions("app").Get(f.Ctx, "web-daily-1-retry-2", metav1.GetOptions{}); err != nil || r2.Spec.RetryLeft != 0 {
		t.Fatalf("second retry %+v, err %v", r2, err)
	}
}

func TestRetentionDropsOldSnapshotsAfterASuccess(t *testing.T) {
	one := int32(1)
	k, c := setup(func(bc *corev1alpha1.BackupConfiguration) {
		bc.Spec.Backends = []corev1alpha1.BackendReference{{Name: "s3", StorageRef: common.ObjectReference{Namespace: "infra", Name: "s3"},
			RetentionPolicy: common.ObjectReference{Name: "keep-one"}}}
	})
	oldID := strings.Repeat("ab", 32)
	old := &storagev1alpha1.Snapshot{
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "old", Labels: map[string]string{jobs.LabelRepository: "web-repo"}},
		Spec:       storagev1alpha1.SnapshotSpec{Repository: "web-repo"},
		Status: storagev1alpha1.SnapshotStatus{Phase: storagev1alpha1.SnapshotSucceeded, SnapshotTime: &metav1.Time{Time: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
			Components: map[string]storagev1alpha1.Component{jobs.ComponentDump: {Phase: storagev1alpha1.ComponentSucceeded, DataMoverSnapshotID: oldID}}},
	}
	failedOld := old.DeepCopy()
	failedOld.Name, failedOld.Status.Phase = "failed-old", storagev1alpha1.SnapshotFailed
	policy := &storagev1alpha1.RetentionPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "keep-one"},
		Spec: storagev1alpha1.RetentionPolicySpec{SuccessfulSnapshots: &storagev1alpha1.SuccessfulSnapshotsKeepPolicy{Last: &one},
			FailedSnapshots: &storagev1alpha1.FailedSnapshotsKeepPolicy{Last: new(int32)}}}
	f := newFixture(t, k, append(c, old, failedOld, policy))
	f.sync("web-daily-1")
	f.setComponent(snapName, jobs.ComponentDump, storagev1alpha1.ComponentSucceeded, "")
	f.setJob(names.BackupJob("web-daily-1", "web-repo", jobs.ComponentDump), batchv1.JobComplete)
	f.sync("web-daily-1") // snapshot phase Succeeded
	f.sync("web-daily-1") // retention decided
	bs := f.session("web-daily-1")
	if bs.Status.Phase != corev1alpha1.BackupSessionRunning || len(bs.Status.RetentionPolicy) != 1 || bs.Status.RetentionPolicy[0].Phase != corev1alpha1.RetentionPolicyPending {
		t.Fatalf("while retention runs: phase %s, retention %+v", bs.Status.Phase, bs.Status.RetentionPolicy)
	}
	job, err := f.Kube.BatchV1().Jobs("app").Get(f.Ctx, jobs.RetentionJobName("web-daily-1", "web-repo"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if args := strings.Join(job.Spec.Template.Spec.Containers[0].Args, " "); !strings.Contains(args, "--forget="+oldID) || job.Annotations[jobs.DropAnnotation] != "old" {
		t.Fatalf("retention Job args %q, annotations %v", args, job.Annotations)
	}
	if _, err := f.Cairn.StorageV1alpha1().Snapshots("app").Get(f.Ctx, "failed-old", metav1.GetOptions{}); err == nil {
		t.Fatal("a Failed Snapshot beyond failedSnapshots.last was kept")
	}
	f.setJob(job.Name, batchv1.JobComplete)
	f.sync("web-daily-1")
	bs = f.session("web-daily-1")
	if bs.Status.Phase != corev1alpha1.BackupSessionSucceeded || bs.Status.RetentionPolicy[0].Phase != corev1alpha1.RetentionPolicyApplied {
		t.Fatalf("after retention: phase %s, retention %+v", bs.Status.Phase, bs.Status.RetentionPolicy)
	}
	if _, err := f.Cairn.StorageV1alpha1().Snapshots("app").Get(f.Ctx, "old", metav1.GetOptions{}); err == nil {
		t.Fatal("the dropped Snapshot object is still there")
	}
	if _, err := f.Cairn.StorageV1alpha1().Snapshots("app").Get(f.Ctx, snapName, metav1.GetOptions{}); err != nil {
		t.Fatal("the new Snapshot was dropped")
	}
}
