package backupsession

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller/internal/controllertest"
	"github.com/cairnbackup/cairn/pkg/controller/internal/hookrun"
	"github.com/cairnbackup/cairn/pkg/hooks"
	"github.com/cairnbackup/cairn/pkg/jobs"
)

// hookPod is the application pod the exec hooks run in.
func hookPod() *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web-1", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
			{Name: "app", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}}
}

func execTemplate(ns, name string, policy *common.UsagePolicy) *corev1alpha1.HookTemplate {
	return &corev1alpha1.HookTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1alpha1.HookTemplateSpec{
		UsagePolicy: policy,
		Params:      []common.ParameterDefinition{{Name: "WHAT", Default: "x"}},
		Action:      corev1alpha1.HookAction{Exec: &corev1.ExecAction{Command: []string{"run", "${WHAT}", "${BACKUP_SESSION}"}}},
		Executor:    corev1alpha1.HookExecutor{Type: corev1alpha1.ExecutorPod, Pod: &corev1alpha1.PodHookExecutor{Selector: "app=web"}},
	}}
}

// hooksSetup is setup() with hooks on the session and the "cmd" template.
func hooksSetup(h *corev1alpha1.BackupHooks, templates ...runtime.Object) ([]runtime.Object, []runtime.Object) {
	k, c := setup(func(bc *corev1alpha1.BackupConfiguration) { bc.Spec.Sessions[0].Hooks = h })
	if len(templates) == 0 {
		templates = []runtime.Object{execTemplate("app", "cmd", nil)}
	}
	return append(k, hookPod()), append(c, templates...)
}

func info(name, what string, policy corev1alpha1.HookExecutionPolicy) corev1alpha1.HookInfo {
	return corev1alpha1.HookInfo{Name: name, HookTemplate: common.ObjectReference{Name: "cmd"}, Params: map[string]string{"WHAT": what}, ExecutionPolicy: policy}
}

func newHookFixture(t *testing.T, k, c []runtime.Object) (*fixture, *controllertest.Exec) {
	f := newFixture(t, k, c)
	ex := &controllertest.Exec{}
	f.c.hooks = hookrun.New(f.Deps, ex)
	return f, ex
}

// syncUntil syncs until cond holds; hooks end in their own goroutines.
func (f *fixture) syncUntil(what string, cond func(*corev1alpha1.BackupSession) bool) *corev1alpha1.BackupSession {
	f.t.Helper()
	for i := 0; i < 400; i++ {
		f.sync("web-daily-1")
		if bs := f.session("web-daily-1"); cond(bs) {
			return bs
		}
		time.Sleep(5 * time.Millisecond)
	}
	f.t.Fatalf("%s never happened: %+v", what, f.session("web-daily-1").Status)
	return nil
}

func phases(list []corev1alpha1.HookExecutionStatus) string {
	var out []string
	for _, h := range list {
		out = append(out, h.Name+"="+string(h.Phase))
	}
	return strings.Join(out, ",")
}

func (f *fixture) snapshotCount() int {
	list, err := f.Cairn.StorageV1alpha1().Snapshots("app").List(f.Ctx, metav1.ListOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return len(list.Items)
}

func TestPreHooksRunBeforeAnySnapshotAndPostHooksByPolicy(t *testing.T) {
	k, c := hooksSetup(&corev1alpha1.BackupHooks{
		PreBackup:  []corev1alpha1.HookInfo{info("flush", "flush", ""), info("freeze", "freeze", "")},
		PostBackup: []corev1alpha1.HookInfo{info("thaw", "thaw", corev1alpha1.ExecuteAlways), info("celebrate", "ok", corev1alpha1.ExecuteOnSuccess), info("page", "page", corev1alpha1.ExecuteOnFailure)},
	})
	f, ex := newHookFixture(t, k, c)
	f.sync("web-daily-1")
	bs := f.session("web-daily-1")
	if got := phases(bs.Status.Hooks.PreHooks) + " " + phases(bs.Status.Hooks.PostHooks); got != "flush=Pending,freeze=Pending thaw=Pending,celebrate=Pending,page=Pending" {
		t.Fatalf("hooks after the first sync: %s", got)
	}
	if bs.Status.Phase != corev1alpha1.BackupSessionPending {
		t.Errorf("phase %s while the first pre hook runs", bs.Status.Phase)
	}
	// The second pre hook starts only after the first is recorded, and no
	// Snapshot or Job exists until both are.
	bs = f.syncUntil("both pre hooks recorded", func(bs *corev1alpha1.BackupSession) bool {
		if f.snapshotCount() != 0 {
			t.Fatalf("a Snapshot exists before the pre hooks finished: %+v", bs.Status.Hooks)
		}
		return phases(bs.Status.Hooks.PreHooks) == "flush=Succeeded,freeze=Succeeded"
	})
	f.sync("web-daily-1")
	if f.snapshotCount() != 1 || !hasCondition(f.session("web-daily-1"), ConditionPreBackupHooks, metav1.ConditionTrue, "every preBackup hook succeeded") {
		t.Fatalf("after the pre hooks: %d Snapshots, %+v", f.snapshotCount(), f.session("web-daily-1").Status.Conditions)
	}
	if got := strings.Join(ex.Ran(), "|"); got != "web-1/app: run flush web-daily-1|web-1/app: run freeze web-daily-1" {
		t.Fatalf("ran %s", got)
	}
	// The backup succeeds: Always and OnSuccess run, OnFailure is skipped.
	snap := f.session("web-daily-1").Status.Snapshots[0].Name
	f.setComponent(snap, jobs.ComponentDump, storagev1alpha1.ComponentSucceeded, "")
	bs = f.syncUntil("post hooks settled", func(bs *corev1alpha1.BackupSession) bool { return !hookrun.Pending(bs.Status.Hooks.PostHooks) })
	if got := phases(bs.Status.Hooks.PostHooks); got != "thaw=Succeeded,celebrate=Succeeded,page=Skipped" {
		t.Fatalf("post hooks %s", got)
	}
	if got := strings.Join(ex.Ran()[2:], "|"); got != "web-1/app: run thaw web-daily-1|web-1/app: run ok web-daily-1" {
		t.Fatalf("post hooks ran %s", got)
	}
}

func TestFailedPreHookFailsTheSessionBeforeAnyData(t *testing.T) {
	k, c := hooksSetup(&corev1alpha1.BackupHooks{
		PreBackup: []corev1alpha1.HookInfo{info("freeze", "freeze", ""), info("never", "never", "")},
		PostBackup: []corev1alpha1.HookInfo{info("thaw", "thaw", corev1alpha1.ExecuteOnFailure), info("notify", "notify", corev1alpha1.ExecuteAlways),
			info("celebrate", "ok", corev1alpha1.ExecuteOnSuccess)},
	})
	f, ex := newHookFixture(t, k, c)
	ex.Answer = func(pod string, cmd []string) error {
		if cmd[1] == "freeze" || cmd[1] == "thaw" {
			return &hooks.ExitError{Pod: pod, Container: "app", Code: 3, Output: "database busy"}
		}
		return nil
	}
	bs := f.syncUntil("the session failed", func(bs *corev1alpha1.BackupSession) bool { return bs.Status.Phase.IsFinished() })
	if bs.Status.Phase != corev1alpha1.BackupSessionFailed ||
		!hasCondition(bs, ConditionPreBackupHooks, metav1.ConditionFalse, "preBackup hook freeze failed: command in pod web-1 (container app) exited with code 3: database busy; no data was backed up") {
		t.Fatalf("status %+v", bs.Status)
	}
	if got := phases(bs.Status.Hooks.PreHooks) + " " + phases(bs.Status.Hooks.PostHooks); got != "freeze=Failed,never=Pending thaw=Failed,notify=Succeeded,celebrate=Skipped" {
		t.Fatalf("hooks %s", got)
	}
	if n := f.snapshotCount(); n != 0 {
		t.Fatalf("%d Snapshots of a session whose pre hook failed", n)
	}
	if js, _ := f.Kube.BatchV1().Jobs("app").List(f.Ctx, metav1.ListOptions{}); len(js.Items) != 0 {
		t.Fatalf("%d Jobs of a session whose pre hook failed", len(js.Items))
	}
	// A failed post hook does not stop the others.
	if got := strings.Join(ex.Ran(), "|"); got != "web-1/app: run freeze web-daily-1|web-1/app: run thaw web-daily-1|web-1/app: run notify web-daily-1" {
		t.Fatalf("ran %s", got)
	}
	events := strings.Join(drain(f.Recorder.Events), "\n")
	if strings.Count(events, ReasonPreHookFailed) != 1 || !strings.Contains(events, "database busy") {
		t.Fatalf("events:\n%s", events)
	}
}

func TestRecordedPreHookIsNotRunAgainAfterARestart(t *testing.T) {
	k, c := hooksSetup(&corev1alpha1.BackupHooks{PreBackup: []corev1alpha1.HookInfo{info("freeze", "freeze", "")}})
	f, ex := newHookFixture(t, k, c)
	f.syncUntil("the pre hook recorded", func(bs *corev1alpha1.BackupSession) bool {
		return phases(bs.Status.Hooks.PreHooks) == "freeze=Succeeded"
	})
	// A new operator process: its hook runner remembers nothing.
	f.c.hooks = hookrun.New(f.Deps, ex)
	f.sync("web-daily-1")
	if n := f.snapshotCount(); n != 1 || len(ex.Ran()) != 1 {
		t.Fatalf("after a restart: %d Snapshots, hooks ran %q", n, ex.Ran())
	}
}

func TestHookTemplateUsagePolicyIsEnforced(t *testing.T) {
	shared := execTemplate("infra", "cmd", nil) // usagePolicy defaults to Same
	k, c := hooksSetup(&corev1alpha1.BackupHooks{PreBackup: []corev1alpha1.HookInfo{{Name: "freeze",
		HookTemplate: common.ObjectReference{Namespace: "infra", Name: "cmd"}}}}, shared)
	f, ex := newHookFixture(t, k, c)
	bs := f.syncUntil("the session failed", func(bs *corev1alpha1.BackupSession) bool { return bs.Status.Phase.IsFinished() })
	if !hasCondition(bs, ConditionPreBackupHooks, metav1.ConditionFalse, `HookTemplate infra/cmd may not be used from namespace "app"`) || len(ex.Ran()) != 0 {
		t.Fatalf("status %+v, ran %q", bs.Status, ex.Ran())
	}
}

func drain(ch chan string) []string {
	var out []string
	for {
		select {
		case e := <-ch:
			out = append(out, e)
		default:
			return out
		}
	}
}

// A session skipped after its pre hooks ran (a newer session of a Forbid
// schedule got its Snapshots first) still runs its post hooks, then ends
// Skipped instead of waiting for them forever.
func TestSkippedAfterPreHooksStillRunsPostHooks(t *testing.T) {
	k, c := hooksSetup(&corev1alpha1.BackupHooks{
		PreBackup:  []corev1alpha1.HookInfo{info("freeze", "freeze", "")},
		PostBackup: []corev1alpha1.HookInfo{info("thaw", "thaw", corev1alpha1.ExecuteAlways)},
	})
	f, ex := newHookFixture(t, k, c)
	f.sync("web-daily-1")
	bs := f.session("web-daily-1")
	// What start() does when another session took the schedule meanwhile.
	f.c.setCondition(bs, &bs.Status, corev1alpha1.ConditionSessionSkipped, true, ReasonSkippedConcurrent, "another session runs")
	if _, err := f.Cairn.CoreV1alpha1().BackupSessions("app").UpdateStatus(f.Ctx, bs, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.Refresh()
	bs = f.syncUntil("the session ended", func(bs *corev1alpha1.BackupSession) bool { return bs.Status.Phase.IsFinished() })
	if bs.Status.Phase != corev1alpha1.BackupSessionSkipped || phases(bs.Status.Hooks.PostHooks) != "thaw=Succeeded" {
		t.Fatalf("phase %s, post hooks %s", bs.Status.Phase, phases(bs.Status.Hooks.PostHooks))
	}
	if got := strings.Join(ex.Ran(), "|"); !strings.HasSuffix(got, "run thaw web-daily-1") {
		t.Fatalf("ran %s", got)
	}
}
