package restoresession

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller/internal/controllertest"
	"github.com/cairnbackup/cairn/pkg/controller/internal/hookrun"
	"github.com/cairnbackup/cairn/pkg/jobs"
)

func hookPhases(list []corev1alpha1.HookExecutionStatus) string {
	var out []string
	for _, h := range list {
		out = append(out, h.Name+"="+string(h.Phase))
	}
	return strings.Join(out, ",")
}

// syncUntil syncs until cond holds; hooks end in their own goroutines.
func (f *fixture) syncUntil(what string, cond func(*corev1alpha1.RestoreSession) bool) *corev1alpha1.RestoreSession {
	f.t.Helper()
	for i := 0; i < 400; i++ {
		if rs := f.sync(); cond(rs) {
			return rs
		}
		time.Sleep(5 * time.Millisecond)
	}
	f.t.Fatalf("%s never happened", what)
	return nil
}

func TestRestoreHooksRunAroundTheRestore(t *testing.T) {
	ref := func(name, what string, p corev1alpha1.HookExecutionPolicy) corev1alpha1.HookInfo {
		return corev1alpha1.HookInfo{Name: name, HookTemplate: common.ObjectReference{Name: "cmd"}, Params: map[string]string{"WHAT": what}, ExecutionPolicy: p}
	}
	k, c := setup("new", func(rs *corev1alpha1.RestoreSession) {
		rs.Spec.Hooks = &corev1alpha1.RestoreHooks{PreRestore: []corev1alpha1.HookInfo{ref("stop", "stop", "")},
			PostRestore: []corev1alpha1.HookInfo{ref("start", "start ${SESSION_PHASE}", ""), ref("page", "page", corev1alpha1.ExecuteOnFailure)}}
	})
	k = append(k, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web-1", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
			{Name: "app", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}})
	c = append(c, &corev1alpha1.HookTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "cmd"}, Spec: corev1alpha1.HookTemplateSpec{
		Params:   []common.ParameterDefinition{{Name: "WHAT", Required: true}},
		Action:   corev1alpha1.HookAction{Exec: &corev1.ExecAction{Command: []string{"run", "${WHAT}", "${RESTORE_SESSION}"}}},
		Executor: corev1alpha1.HookExecutor{Type: corev1alpha1.ExecutorPod, Pod: &corev1alpha1.PodHookExecutor{Selector: "app=web"}}}})
	f := newFixture(t, k, c)
	ex := &controllertest.Exec{}
	f.c.hooks = hookrun.New(f.Deps, ex)

	f.syncUntil("the pre hook recorded", func(rs *corev1alpha1.RestoreSession) bool {
		if n := f.jobCount(); n != 0 {
			t.Fatalf("%d restore Jobs before the preRestore hook finished", n)
		}
		return hookPhases(rs.Status.Hooks.PreHooks) == "stop=Succeeded"
	})
	f.sync()
	if n := f.jobCount(); n != 1 {
		t.Fatalf("%d restore Jobs after the preRestore hook", n)
	}
	// The runner reports the component restored; the post hooks follow.
	rs, err := f.Cairn.CoreV1alpha1().RestoreSessions("app").Get(f.Ctx, "restore", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rs.Status.Components = map[string]corev1alpha1.ComponentRestoreStatus{jobs.ComponentDump: {Phase: storagev1alpha1.ComponentSucceeded}}
	if _, err := f.Cairn.CoreV1alpha1().RestoreSessions("app").UpdateStatus(f.Ctx, rs, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.Refresh()
	rs = f.syncUntil("the restore finished", func(rs *corev1alpha1.RestoreSession) bool { return rs.Status.Phase.IsFinished() })
	if rs.Status.Phase != corev1alpha1.RestoreSucceeded || hookPhases(rs.Status.Hooks.PostHooks) != "start=Succeeded,page=Skipped" {
		t.Fatalf("phase %s, post hooks %s", rs.Status.Phase, hookPhases(rs.Status.Hooks.PostHooks))
	}
	if got := strings.Join(ex.Ran(), "|"); got != "web-1/app: run stop restore|web-1/app: run start Succeeded restore" {
		t.Fatalf("ran %s", got)
	}
}

func TestStatefulSetHooksRunInTheRestoredReplicas(t *testing.T) {
	sts := common.TypedObjectReference{Kind: "StatefulSet", Name: "db"}
	if got := strings.Join(replicaPods(sts, []string{jobs.StatefulSetComponent(2), jobs.StatefulSetComponent(0)}), ","); got != "db-2,db-0" {
		t.Fatalf("replica pods %s", got)
	}
	if got := replicaPods(common.TypedObjectReference{Kind: "Deployment", Name: "web"}, []string{jobs.ComponentDump}); got != nil {
		t.Fatalf("a Deployment's hooks are limited to %v", got)
	}
}
