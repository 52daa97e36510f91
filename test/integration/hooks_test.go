//go:build integration

package integration

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/trigger"
	"github.com/cairnbackup/cairn/test/cluster"
)

// hookServer is an HTTP endpoint on the cluster's bridge that the operator
// calls for an httpPost hook; it records the bodies it got.
type hookServer struct {
	url    string
	mu     sync.Mutex
	bodies []string
}

func startHookServer(t *testing.T) *hookServer {
	t.Helper()
	l, err := net.Listen("tcp", cluster.BridgeIP()+":0")
	if err != nil {
		t.Fatal(err)
	}
	s := &hookServer{url: l.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, r.Method+" "+r.URL.Path+" "+string(b))
		s.mu.Unlock()
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

func (s *hookServer) got() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.bodies, "\n")
}

// execTemplate is a HookTemplate that runs script with sh in the app's pod.
func execTemplate(name, script string, params ...common.ParameterDefinition) *corev1alpha1.HookTemplate {
	return &corev1alpha1.HookTemplate{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1alpha1.HookTemplateSpec{
		Params:   params,
		Action:   corev1alpha1.HookAction{Exec: &corev1.ExecAction{Command: []string{"/bin/sh", "-c", script}}},
		Executor: corev1alpha1.HookExecutor{Type: corev1alpha1.ExecutorPod, Pod: &corev1alpha1.PodHookExecutor{Selector: "app=web"}},
	}}
}

func hookRef(name, template string, policy corev1alpha1.HookExecutionPolicy, params map[string]string) corev1alpha1.HookInfo {
	return corev1alpha1.HookInfo{Name: name, HookTemplate: common.ObjectReference{Name: template}, ExecutionPolicy: policy, Params: params,
		Timeout: &metav1.Duration{Duration: 30 * time.Second}}
}

func hookPhases(list []corev1alpha1.HookExecutionStatus) string {
	var out []string
	for _, h := range list {
		s := h.Name + "=" + string(h.Phase)
		if h.Error != "" {
			s += "(" + h.Error + ")"
		}
		out = append(out, s)
	}
	return strings.Join(out, ",")
}

// TestHooks runs hooks against the operator as deployed, on a Deployment:
//   - a preBackup exec hook writes a file into the app's volume, and that
//     file is in the backup (restored on the host from MinIO with cairn);
//     postBackup hooks follow their executionPolicy (OnSuccess runs, with
//     the outcome in ${SESSION_PHASE}; OnFailure is Skipped) and an
//     httpPost hook from the operator reaches a server on the bridge;
//   - a failing preBackup hook fails the session with a condition and an
//     Event naming the hook and its output, creates no Snapshot and no
//     backup Job, and its OnFailure post hook runs;
//   - a RestoreSession's preRestore and postRestore hooks run around the
//     restore, the post hook after the data is back.
func TestHooks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	e := newConfigEnv(ctx, t)
	kube := e.c.Client()
	srv := startHookServer(t)
	if _, err := kube.AppsV1().Deployments(e.ns).Create(ctx, appDeployment(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitAppSeeded(ctx, t)

	notify := &corev1alpha1.HookTemplate{ObjectMeta: metav1.ObjectMeta{Name: "notify"}, Spec: corev1alpha1.HookTemplateSpec{
		Action: corev1alpha1.HookAction{HTTPPost: &corev1alpha1.HTTPPostAction{Host: cluster.BridgeIP(), Port: intstr.FromString(strings.Split(srv.url, ":")[1]),
			Path: "/done", Body: "${SESSION_NAME} ${SESSION_PHASE}"}},
		Executor: corev1alpha1.HookExecutor{Type: corev1alpha1.ExecutorOperator},
	}}
	for _, tpl := range []*corev1alpha1.HookTemplate{
		execTemplate("write", "echo ${MSG} > /data/${FILE}", common.ParameterDefinition{Name: "MSG", Default: "hello from the hook"}, common.ParameterDefinition{Name: "FILE", Required: true}),
		execTemplate("fail", "echo cannot freeze the database >&2; exit 3"),
		notify,
	} {
		if _, err := e.cairn.CoreV1alpha1().HookTemplates(e.ns).Create(ctx, tpl, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	session := func(name string, hooks *corev1alpha1.BackupHooks) corev1alpha1.Session {
		return corev1alpha1.Session{
			Name: name, Scheduler: corev1alpha1.SchedulerSpec{Schedule: "0 3 1 1 *"}, BackupTimeout: &metav1.Duration{Duration: 5 * time.Minute},
			Addon:        corev1alpha1.AddonInfo{Name: "workload-addon", Tasks: []corev1alpha1.TaskReference{{Name: "logical-backup", Params: map[string]string{"paths": "/data"}}}},
			Repositories: []corev1alpha1.RepositoryInfo{{Name: "web", Directory: "web", EncryptionSecret: common.ObjectReference{Name: "password"}}},
			Hooks:        hooks,
		}
	}
	bc := &corev1alpha1.BackupConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1alpha1.BackupConfigurationSpec{
			Target: common.TypedObjectReference{APIGroup: "apps", Kind: "Deployment", Name: "web"},
			Sessions: []corev1alpha1.Session{
				session("nightly", &corev1alpha1.BackupHooks{
					PreBackup: []corev1alpha1.HookInfo{hookRef("mark", "write", "", map[string]string{"FILE": "pre-${SESSION_NAME}"})},
					PostBackup: []corev1alpha1.HookInfo{
						hookRef("after-ok", "write", corev1alpha1.ExecuteOnSuccess, map[string]string{"MSG": "${SESSION_PHASE}", "FILE": "post-ok"}),
						hookRef("after-fail", "write", corev1alpha1.ExecuteOnFailure, map[string]string{"FILE": "post-fail"}),
						hookRef("notify", "notify", corev1alpha1.ExecuteAlways, nil),
					},
				}),
				session("broken", &corev1alpha1.BackupHooks{
					PreBackup:  []corev1alpha1.HookInfo{hookRef("freeze", "fail", "", nil)},
					PostBackup: []corev1alpha1.HookInfo{hookRef("thaw", "write", corev1alpha1.ExecuteOnFailure, map[string]string{"MSG": "${SESSION_PHASE}", "FILE": "thawed"})},
				}),
			},
		},
	}
	if _, err := e.cairn.CoreV1alpha1().BackupConfigurations(e.ns).Create(ctx, bc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitConfig(ctx, t, "web", 2*time.Minute, "Ready", isPhase(corev1alpha1.BackupConfigurationReady))

	// A preBackup hook's file is in the backup; post hooks by policy.
	bs, err := trigger.Create(ctx, e.cairn, e.ns, "web", "nightly", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.waitBackup(ctx, t, bs.Name)
	done, err := e.cairn.CoreV1alpha1().BackupSessions(e.ns).Get(ctx, bs.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hookPhases(done.Status.Hooks.PreHooks), "mark=Succeeded"; got != want {
		t.Errorf("preHooks %s, want %s", got, want)
	}
	if got, want := hookPhases(done.Status.Hooks.PostHooks), "after-ok=Succeeded,after-fail=Skipped,notify=Succeeded"; got != want {
		t.Errorf("postHooks %s, want %s", got, want)
	}
	snaps, err := e.cairn.StorageV1alpha1().Snapshots(e.ns).List(ctx, metav1.ListOptions{LabelSelector: jobs.LabelBackupSession + "=" + bs.Name})
	if err != nil || len(snaps.Items) != 1 {
		t.Fatalf("Snapshots of %s: %v (err %v)", bs.Name, snaps, err)
	}
	target := t.TempDir()
	e.hostCairn(ctx, t, "web", "repo", "restore", "--target", target, snaps.Items[0].Status.Components[jobs.ComponentDump].DataMoverSnapshotID)
	if b, err := os.ReadFile(filepath.Join(target, "data", "pre-"+bs.Name)); err != nil || string(b) != "hello from the hook\n" {
		t.Fatalf("the preBackup hook's file in the backup: %q, %v", b, err)
	}
	e.runAsApp(ctx, t, "check-post", `set -e; test "$(cat /data/post-ok)" = Succeeded; test ! -e /data/post-fail`)
	if got, want := srv.got(), "POST /done "+bs.Name+" Succeeded"; got != want {
		t.Errorf("the httpPost hook sent %q, want %q", got, want)
	}

	// A failing preBackup hook: the session fails before any data moves.
	broken, err := trigger.Create(ctx, e.cairn, e.ns, "web", "broken", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	failed := e.waitSessionEnd(ctx, t, broken.Name)
	if failed.Status.Phase != corev1alpha1.BackupSessionFailed || !hasCond(failed.Status.Conditions, "PreBackupHooksSucceeded", metav1.ConditionFalse, "preBackup hook freeze failed") ||
		!hasCond(failed.Status.Conditions, "PreBackupHooksSucceeded", metav1.ConditionFalse, "exited with code 3: cannot freeze the database") {
		t.Fatalf("session with a failing preBackup hook: %+v", failed.Status)
	}
	if got, want := hookPhases(failed.Status.Hooks.PostHooks), "thaw=Succeeded"; got != want {
		t.Errorf("postHooks after a failed pre hook %s, want %s", got, want)
	}
	js, err := kube.BatchV1().Jobs(e.ns).List(ctx, metav1.ListOptions{LabelSelector: jobs.LabelBackupSession + "=" + broken.Name})
	if err != nil || len(js.Items) != 0 {
		t.Errorf("backup Jobs of a session whose preBackup hook failed: %d (err %v), want none", len(js.Items), err)
	}
	if s, err := e.cairn.StorageV1alpha1().Snapshots(e.ns).List(ctx, metav1.ListOptions{LabelSelector: jobs.LabelBackupSession + "=" + broken.Name}); err != nil || len(s.Items) != 0 {
		t.Errorf("Snapshots of a session whose preBackup hook failed: %v (err %v), want none", s, err)
	}
	evs, err := kube.CoreV1().Events(e.ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + broken.Name + ",reason=PreBackupHookFailed"})
	if err != nil || len(evs.Items) == 0 || !strings.Contains(evs.Items[0].Message, "freeze") {
		t.Errorf("Events PreBackupHookFailed of %s: %v (err %v)", broken.Name, evs, err)
	}
	e.runAsApp(ctx, t, "check-thaw", `test "$(cat /data/thawed)" = Failed`)

	// Restore hooks run around the restore.
	rs := &corev1alpha1.RestoreSession{
		ObjectMeta: metav1.ObjectMeta{Name: "undo"},
		Spec: corev1alpha1.RestoreSessionSpec{
			Target: &common.TypedObjectReference{APIGroup: "apps", Kind: "Deployment", Name: "web"},
			DataSource: corev1alpha1.RestoreDataSource{Repository: "web", Snapshot: corev1alpha1.LatestSnapshot,
				EncryptionSecret: common.ObjectReference{Name: "password"}},
			Addon: corev1alpha1.AddonInfo{Name: "workload-addon", Tasks: []corev1alpha1.TaskReference{{Name: "logical-backup-restore"}}},
			Hooks: &corev1alpha1.RestoreHooks{
				PreRestore: []corev1alpha1.HookInfo{hookRef("before", "write", "", map[string]string{"MSG": "about to restore", "FILE": "pre-restore"})},
				// The post hook sees the restored file and records it.
				PostRestore: []corev1alpha1.HookInfo{{Name: "after", HookTemplate: common.ObjectReference{Name: "write"},
					Params: map[string]string{"MSG": "$(cat /data/pre-" + bs.Name + ") ${SESSION_PHASE}", "FILE": "post-restore"}}},
			},
		},
	}
	e.runAsApp(ctx, t, "damage", "rm /data/pre-"+bs.Name)
	if _, err := e.cairn.CoreV1alpha1().RestoreSessions(e.ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitRestore(ctx, t, "undo")
	restored, err := e.cairn.CoreV1alpha1().RestoreSessions(e.ns).Get(ctx, "undo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hookPhases(restored.Status.Hooks.PreHooks)+" "+hookPhases(restored.Status.Hooks.PostHooks), "before=Succeeded after=Succeeded"; got != want {
		t.Errorf("restore hooks %s, want %s", got, want)
	}
	e.runAsApp(ctx, t, "check-restore-hooks", `set -e; test "$(cat /data/pre-restore)" = "about to restore"; test "$(cat /data/post-restore)" = "hello from the hook Succeeded"`)
}

func hasCond(conds []metav1.Condition, t string, status metav1.ConditionStatus, msg string) bool {
	for _, c := range conds {
		if c.Type == t && c.Status == status && strings.Contains(c.Message, msg) {
			return true
		}
	}
	return false
}

// TestPreHookIsNotRerunAfterOperatorRestart: the operator is deleted while
// the second of two preBackup hooks runs; the new operator does not run the
// first again (it was recorded as Succeeded), runs the second (it was
// not), and the backup succeeds.
func TestPreHookIsNotRerunAfterOperatorRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	e := newConfigEnv(ctx, t)
	kube := e.c.Client()
	if _, err := kube.AppsV1().Deployments(e.ns).Create(ctx, appDeployment(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitAppSeeded(ctx, t)
	for _, tpl := range []*corev1alpha1.HookTemplate{
		execTemplate("count", "echo ran >> /data/count"),
		execTemplate("slow", "echo started >> /data/slow; sleep 20"),
	} {
		if _, err := e.cairn.CoreV1alpha1().HookTemplates(e.ns).Create(ctx, tpl, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	bc := &corev1alpha1.BackupConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1alpha1.BackupConfigurationSpec{
		Target: common.TypedObjectReference{APIGroup: "apps", Kind: "Deployment", Name: "web"},
		Sessions: []corev1alpha1.Session{{
			Name: "nightly", Scheduler: corev1alpha1.SchedulerSpec{Schedule: "0 3 1 1 *"},
			Addon:        corev1alpha1.AddonInfo{Name: "workload-addon", Tasks: []corev1alpha1.TaskReference{{Name: "logical-backup", Params: map[string]string{"paths": "/data"}}}},
			Repositories: []corev1alpha1.RepositoryInfo{{Name: "web", Directory: "web", EncryptionSecret: common.ObjectReference{Name: "password"}}},
			Hooks: &corev1alpha1.BackupHooks{PreBackup: []corev1alpha1.HookInfo{
				hookRef("count", "count", "", nil),
				{Name: "slow", HookTemplate: common.ObjectReference{Name: "slow"}, Timeout: &metav1.Duration{Duration: time.Minute}},
			}},
		}},
	}}
	if _, err := e.cairn.CoreV1alpha1().BackupConfigurations(e.ns).Create(ctx, bc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitConfig(ctx, t, "web", 2*time.Minute, "Ready", isPhase(corev1alpha1.BackupConfigurationReady))
	bs, err := trigger.Create(ctx, e.cairn, e.ns, "web", "nightly", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the first hook is recorded and the second runs.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		cur, err := e.cairn.CoreV1alpha1().BackupSessions(e.ns).Get(ctx, bs.Name, metav1.GetOptions{})
		if err == nil && hookPhases(cur.Status.Hooks.PreHooks) == "count=Succeeded,slow=Pending" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first preBackup hook was not recorded: %+v", cur.Status)
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // the second hook's exec is under way
	deleteOperatorPods(ctx, t, kube)
	e.waitBackup(ctx, t, bs.Name)
	done, err := e.cairn.CoreV1alpha1().BackupSessions(e.ns).Get(ctx, bs.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := hookPhases(done.Status.Hooks.PreHooks); got != "count=Succeeded,slow=Succeeded" {
		t.Fatalf("preHooks %s", got)
	}
	// count ran once; slow was started by both operators.
	e.runAsApp(ctx, t, "check-count", `set -e; test "$(wc -l < /data/count)" -eq 1; test "$(wc -l < /data/slow)" -eq 2`)
}

// TestHooksReadyBeforeASessionRuns: a config whose preBackup hook names a
// HookTemplate that does not exist says so in its HooksReady condition at
// once, without a session; the template created with a Function executor
// (which Cairn does not run) changes the message; fixed to a Pod executor
// it makes the condition True. Each step is noticed through the
// HookTemplate's own events, the config untouched.
func TestHooksReadyBeforeASessionRuns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e := newConfigEnv(ctx, t)
	bc := e.pvcConfig("hooked")
	bc.Spec.Sessions[0].Scheduler.Schedule = "0 3 1 1 *"
	bc.Spec.Sessions[0].Hooks = &corev1alpha1.BackupHooks{PreBackup: []corev1alpha1.HookInfo{hookRef("freeze", "late", "", nil)}}
	if _, err := e.cairn.CoreV1alpha1().BackupConfigurations(e.ns).Create(ctx, bc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hooksReady := func(status metav1.ConditionStatus, says string) func(*corev1alpha1.BackupConfiguration) bool {
		return func(bc *corev1alpha1.BackupConfiguration) bool {
			return hasCond(bc.Status.Conditions, corev1alpha1.ConditionHooksReady, status, says)
		}
	}
	e.waitConfig(ctx, t, "hooked", time.Minute, "HooksReady False naming the missing template", hooksReady(metav1.ConditionFalse,
		"session minutely: preBackup hook freeze uses HookTemplate "+e.ns+"/late, which does not exist"))
	tpl := execTemplate("late", "sync")
	tpl.Spec.Executor = corev1alpha1.HookExecutor{Type: corev1alpha1.ExecutorFunction, Function: &corev1alpha1.FunctionHookExecutor{Name: "freezer"}}
	tpl, err := e.cairn.CoreV1alpha1().HookTemplates(e.ns).Create(ctx, tpl, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.waitConfig(ctx, t, "hooked", time.Minute, "HooksReady False for the Function executor", hooksReady(metav1.ConditionFalse,
		"HookTemplate "+e.ns+"/late cannot run: executor type Function is not supported"))
	tpl.Spec.Executor = corev1alpha1.HookExecutor{Type: corev1alpha1.ExecutorPod, Pod: &corev1alpha1.PodHookExecutor{Selector: "app=web"}}
	if _, err := e.cairn.CoreV1alpha1().HookTemplates(e.ns).Update(ctx, tpl, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitConfig(ctx, t, "hooked", time.Minute, "HooksReady True", hooksReady(metav1.ConditionTrue, ""))
}
