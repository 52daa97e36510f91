package backupconfiguration

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
)

func hookTemplate(ns, name string, ex corev1alpha1.HookExecutor, mods ...func(*corev1alpha1.HookTemplateSpec)) *corev1alpha1.HookTemplate {
	t := &corev1alpha1.HookTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1alpha1.HookTemplateSpec{Executor: ex}}
	if ex.Type == corev1alpha1.ExecutorOperator {
		t.Spec.Action.HTTPPost = &corev1alpha1.HTTPPostAction{Host: "chat.example", Port: intstr.FromInt32(443), Scheme: corev1.URISchemeHTTPS}
	} else {
		t.Spec.Action.Exec = &corev1.ExecAction{Command: []string{"fsfreeze", "--freeze", "/data"}}
	}
	for _, m := range mods {
		m(&t.Spec)
	}
	return t
}

var podExec = corev1alpha1.HookExecutor{Type: corev1alpha1.ExecutorPod, Pod: &corev1alpha1.PodHookExecutor{Selector: "app=web"}}

// hookedConfig is the working config whose daily session freezes with
// app/fsfreeze before and notifies with infra/notify after each backup.
func hookedConfig() *corev1alpha1.BackupConfiguration {
	bc := backupConfig(true)
	bc.Spec.Sessions[0].Hooks = &corev1alpha1.BackupHooks{
		PreBackup:  []corev1alpha1.HookInfo{{Name: "freeze", HookTemplate: common.ObjectReference{Name: "fsfreeze"}}},
		PostBackup: []corev1alpha1.HookInfo{{Name: "notify", HookTemplate: common.ObjectReference{Namespace: "infra", Name: "notify"}, Params: map[string]string{"CHANNEL": "#ops"}}},
	}
	return bc
}

func shared(s *corev1alpha1.HookTemplateSpec) {
	all := common.NamespacesFromAll
	s.UsagePolicy = &common.UsagePolicy{AllowedNamespaces: common.AllowedNamespaces{From: &all}}
}

// TestHooksAreCheckedWithTheConfig: a hook whose HookTemplate is missing,
// not allowed here, cannot run, or lacks a required param makes HooksReady
// False with a message naming the session, the hook, the template, what
// is wrong and what to change, before any session runs.
func TestHooksAreCheckedWithTheConfig(t *testing.T) {
	freeze := hookTemplate("app", "fsfreeze", podExec)
	channel := func(s *corev1alpha1.HookTemplateSpec) {
		s.Params = []common.ParameterDefinition{{Name: "CHANNEL", Required: true}}
	}
	notify := hookTemplate("infra", "notify", corev1alpha1.HookExecutor{Type: corev1alpha1.ExecutorOperator}, shared, channel)
	for name, c := range map[string]struct {
		templates []runtime.Object
		mod       func(*corev1alpha1.BackupConfiguration)
		reason    string
		says      []string
		phase     corev1alpha1.BackupConfigurationPhase
	}{
		"all there": {templates: []runtime.Object{freeze, notify}, reason: ReasonHooksReady, says: []string{"every hook"}},
		"missing": {templates: []runtime.Object{notify}, reason: ReasonHookTemplateNotFound, says: []string{
			"session daily: preBackup hook freeze uses HookTemplate app/fsfreeze, which does not exist", "sessions[daily].hooks.preBackup[freeze].hookTemplate"},
			phase: corev1alpha1.BackupConfigurationNotReady},
		"not shared": {templates: []runtime.Object{freeze, hookTemplate("infra", "notify", corev1alpha1.HookExecutor{Type: corev1alpha1.ExecutorOperator}, channel)},
			reason: ReasonHookTemplateNotAllowed, says: []string{"session daily: postBackup hook notify", "infra/notify", "usagePolicy"},
			phase: corev1alpha1.BackupConfigurationNotReady},
		"Function executor": {templates: []runtime.Object{notify, hookTemplate("app", "fsfreeze", corev1alpha1.HookExecutor{Type: corev1alpha1.ExecutorFunction,
			Function: &corev1alpha1.FunctionHookExecutor{Name: "freezer"}})},
			reason: ReasonHookTemplateCannotRun, says: []string{"preBackup hook freeze: HookTemplate app/fsfreeze cannot run: executor type Function is not supported", "use Pod", "fix the HookTemplate"},
			phase: corev1alpha1.BackupConfigurationNotReady},
		"required param": {templates: []runtime.Object{freeze, notify},
			mod:    func(bc *corev1alpha1.BackupConfiguration) { bc.Spec.Sessions[0].Hooks.PostBackup[0].Params = nil },
			reason: ReasonHookInvalid, says: []string{"postBackup hook notify: param CHANNEL is required by HookTemplate infra/notify"},
			phase: corev1alpha1.BackupConfigurationInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			bc := hookedConfig()
			if c.mod != nil {
				c.mod(bc)
			}
			k, objs := workingSetup(bc, c.templates...)
			f := newFixture(t, append(k, namespace("infra", nil)), objs)
			if _, err := f.sync("app", "web"); err != nil {
				t.Fatal(err)
			}
			got := f.config("app", "web")
			cond := condition(t, got, corev1alpha1.ConditionHooksReady)
			if cond.Reason != c.reason || cond.ObservedGeneration != 1 {
				t.Fatalf("HooksReady %s %q, want %s", cond.Reason, cond.Message, c.reason)
			}
			for _, s := range c.says {
				if !strings.Contains(cond.Message, s) {
					t.Errorf("message %q does not say %q", cond.Message, s)
				}
			}
			if c.phase != "" && got.Status.Phase != c.phase {
				t.Errorf("phase %s, want %s", got.Status.Phase, c.phase)
			}
		})
	}
}

// TestHookTemplateChangeRechecksItsUsers: a HookTemplate's event wakes the
// configs whose hooks name it (through the index), and no other; the
// config becomes HooksReady once the template exists.
func TestHookTemplateChangeRechecksItsUsers(t *testing.T) {
	other := backupConfig(true)
	other.Name, other.UID = "other", "uid-other"
	k, objs := workingSetup(hookedConfig(), other, hookTemplate("infra", "notify", corev1alpha1.HookExecutor{Type: corev1alpha1.ExecutorOperator}, shared))
	f := newFixture(t, append(k, namespace("infra", nil)), objs)
	if _, err := f.sync("app", "web"); err != nil {
		t.Fatal(err)
	}
	if c := condition(t, f.config("app", "web"), corev1alpha1.ConditionHooksReady); c.Reason != ReasonHookTemplateNotFound {
		t.Fatalf("HooksReady %s %q without the template", c.Reason, c.Message)
	}
	freeze := hookTemplate("app", "fsfreeze", podExec)
	if _, err := f.cairn.CoreV1alpha1().HookTemplates("app").Create(f.ctx, freeze, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.refresh()
	f.c.wakeUsers(byHook, false)(freeze)
	f.c.wakeUsers(byHook, false)(hookTemplate("app", "unused", podExec))
	if n := f.c.loop.Queue.Len(); n != 1 {
		t.Fatalf("%d configs queued, want the one using the template", n)
	}
	key, _ := f.c.loop.Queue.Get()
	f.c.loop.Queue.Done(key)
	if key.String() != "app/web" {
		t.Fatalf("queued %s", key)
	}
	if _, err := f.sync("app", "web"); err != nil {
		t.Fatal(err)
	}
	if c := condition(t, f.config("app", "web"), corev1alpha1.ConditionHooksReady); c.Reason != ReasonHooksReady {
		t.Fatalf("HooksReady %s %q once the template exists", c.Reason, c.Message)
	}
}
