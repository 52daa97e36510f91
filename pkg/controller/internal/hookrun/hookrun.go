// Package hookrun is what the BackupSession and RestoreSession controllers
// share to run a session's hooks without holding a worker: each hook runs
// in its own goroutine (pkg/hooks, bounded by its timeout and retries)
// while the sync returns at once; when the hook ends the session is
// enqueued, and the next sync records the result in the session's status.
// Hooks of a list run one after another, and the next starts only once
// the status the API server holds shows the previous one finished, so an
// operator restart never runs a hook again after it was recorded as done.
package hookrun

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/record"

	corelisters1 "github.com/cairnbackup/cairn/client/listers/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/controller/internal/usage"
	"github.com/cairnbackup/cairn/pkg/controller/internal/workloop"
	"github.com/cairnbackup/cairn/pkg/hooks"
)

// Runner runs the hooks of one controller's sessions.
type Runner struct {
	hooks      *hooks.Runner
	templates  corelisters1.HookTemplateLister
	namespaces corelisters.NamespaceLister

	mu   sync.Mutex
	runs map[string]*run
}

// run is one hook running or finished in this process.
type run struct {
	done bool
	err  error
}

// New registers the HookTemplate and Namespace listers on d's informers;
// exec runs commands in pods (PodExec(d) in the operator, a fake in tests).
func New(d controller.Deps, exec hooks.Execer) *Runner {
	return &Runner{hooks: hooks.NewRunner(d.Kube, exec, nil),
		templates:  d.Informers.Cairn.Core().V1alpha1().HookTemplates().Lister(),
		namespaces: d.Informers.Kube.Core().V1().Namespaces().Lister(),
		runs:       map[string]*run{}}
}

// PodExec is the operator's exec through the API server, or nil when d has
// no connection to make one (unit tests): exec hooks then fail saying so.
func PodExec(d controller.Deps) hooks.Execer {
	if d.RestConfig == nil {
		return nil
	}
	return hooks.NewPodExec(d.Kube, d.RestConfig)
}

// Progress is where a list of hooks stands.
type Progress int

const (
	// InProgress: a hook runs, or a result waits to be written.
	InProgress Progress = iota
	// Done: every hook succeeded or was skipped, as the API holds it.
	Done
	// Failed: a hook failed; the ones after it do not run.
	Failed
)

// List is one list of one session's hooks (its pre or its post hooks).
type List struct {
	// Key names the list in this process: namespace/name/uid/stage.
	Key string
	// Stage names the list in messages: preBackup, postRestore...
	Stage string
	// Infos are the hooks as the session's spec has them.
	Infos []corev1alpha1.HookInfo
	// Status is the list being written (updated in place), Persisted the
	// same list as the API server holds it.
	Status, Persisted []corev1alpha1.HookExecutionStatus
	// Namespace of the session: templates default to it, pods are in it.
	Namespace string
	// Vars are placeholders every hook may use (namespace, session...).
	Vars map[string]string
	// Pods limits Pod executors to these pods (nil: any the selector finds).
	Pods []string
	// Wake enqueues the session; called when a hook ends.
	Wake func()
	// Independent hooks all run even when one failed (post hooks: a failed
	// notification must not keep the database frozen); otherwise the
	// first failure stops the list (pre hooks: no data moves anyway).
	Independent bool
}

// Key is the prefix of a session's lists in this process.
func Key(namespace, name string) string { return namespace + "/" + name + "/" }

// Statuses makes the Pending entries of a list of hooks.
func Statuses(infos []corev1alpha1.HookInfo) []corev1alpha1.HookExecutionStatus {
	out := make([]corev1alpha1.HookExecutionStatus, 0, len(infos))
	for _, i := range infos {
		out = append(out, corev1alpha1.HookExecutionStatus{Name: i.Name, Phase: corev1alpha1.HookPending})
	}
	return out
}

// Pending reports whether a hook of list has not finished.
func Pending(list []corev1alpha1.HookExecutionStatus) bool {
	for _, h := range list {
		if h.Phase != corev1alpha1.HookSucceeded && h.Phase != corev1alpha1.HookFailed && h.Phase != corev1alpha1.HookSkipped {
			return true
		}
	}
	return false
}

// SkipByPolicy marks the pending post hooks whose executionPolicy does not
// match the outcome (failed or not) as Skipped.
func SkipByPolicy(infos []corev1alpha1.HookInfo, list []corev1alpha1.HookExecutionStatus, failed bool) {
	for i := range list {
		if list[i].Phase != corev1alpha1.HookPending && list[i].Phase != "" {
			continue
		}
		for _, info := range infos {
			if info.Name != list[i].Name {
				continue
			}
			p := info.ExecutionPolicy
			if (p == corev1alpha1.ExecuteOnSuccess && failed) || (p == corev1alpha1.ExecuteOnFailure && !failed) {
				list[i].Phase = corev1alpha1.HookSkipped
				list[i].Error = ""
			}
		}
	}
}

// Forget drops what this process remembers of the hooks under prefix (a
// session's Key once it is final or gone). A hook still running finishes
// on its own, bounded by its timeout.
func (r *Runner) Forget(prefix string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.runs {
		if strings.HasPrefix(k, prefix) {
			delete(r.runs, k)
		}
	}
}

// persistedWait is when to look again at a result written but not yet
// seen back from the API server (its update event normally comes first).
const persistedWait = 2 * time.Second

// Advance moves l one step: it records a finished hook's result in
// l.Status, or starts the next pending hook once the API holds every
// earlier result. It returns the list's progress, when to look again
// while in progress, and the (first) failed entry when it failed.
func (r *Runner) Advance(ctx context.Context, l List) (Progress, time.Duration, *corev1alpha1.HookExecutionStatus) {
	var failed *corev1alpha1.HookExecutionStatus
	for i := range l.Status {
		e := &l.Status[i]
		key := l.Key + e.Name
		switch e.Phase {
		case corev1alpha1.HookSucceeded, corev1alpha1.HookSkipped, corev1alpha1.HookFailed:
			if !holds(l.Persisted, *e) {
				return InProgress, persistedWait, nil
			}
			r.Forget(key)
			if e.Phase == corev1alpha1.HookFailed && failed == nil {
				failed = e
			}
			if failed != nil && !l.Independent {
				return Failed, 0, failed
			}
			continue
		}
		if done, err, known := r.result(key); known {
			if !done {
				return InProgress, 0, nil // the hook's end wakes the session
			}
			e.Phase, e.Error = corev1alpha1.HookSucceeded, ""
			if err != nil {
				e.Phase, e.Error = corev1alpha1.HookFailed, err.Error()
			}
			return InProgress, persistedWait, nil
		}
		h, err := r.resolve(l, e.Name)
		if err != nil {
			e.Phase, e.Error = corev1alpha1.HookFailed, err.Error()
			return InProgress, persistedWait, nil
		}
		r.start(ctx, key, h, l.Wake)
		return InProgress, h.Budget(), nil
	}
	if failed != nil {
		return Failed, 0, failed
	}
	return Done, 0, nil
}

// Step advances l like Advance and says what the controller does next:
// the list's progress, when to look again, and a sentence naming the hooks
// found failed in this step ("" if none), for a condition and an Event.
func (r *Runner) Step(ctx context.Context, l List) (Progress, workloop.Result, string) {
	prog, wait, _ := r.Advance(ctx, l)
	var msg string
	if failed := newlyFailed(l.Status, l.Persisted); len(failed) > 0 {
		msg = describe(l.Stage, failed)
	}
	if prog == InProgress && wait > 0 {
		return prog, workloop.After(wait), msg
	}
	return prog, workloop.Done(), msg
}

// Report sets a condition on the session (and, for a failure, records a
// Warning Event with the same reason and message).
type Report func(condition string, ok bool, reason, msg string)

// Reporter is the Report of a session obj: set puts the condition on the
// status being built, and a failure is also a Warning Event on obj.
func Reporter(rec record.EventRecorder, obj runtime.Object, set Report) Report {
	return func(t string, ok bool, reason, msg string) {
		set(t, ok, reason, msg)
		if !ok {
			rec.Event(obj, corev1.EventTypeWarning, reason, msg)
		}
	}
}

// Conditions names what Pre and Post report: the condition of the stage
// (PreBackupHooksSucceeded...), its failure reason, and for pre hooks what
// a failure means for the data ("no data was backed up").
type Conditions struct {
	Type, FailedReason, NoData string
}

// Pre advances a session's pre hooks and reports true once every one is
// Succeeded as the API holds it, so the data step may begin; otherwise the
// sync returns with the Result. A failure is reported once.
func (r *Runner) Pre(ctx context.Context, l List, c Conditions, report Report) (bool, workloop.Result) {
	prog, res, failed := r.Step(ctx, l)
	if failed != "" {
		report(c.Type, false, c.FailedReason, failed+"; "+c.NoData)
	}
	switch prog {
	case Done:
		if len(l.Infos) > 0 {
			report(c.Type, true, ReasonHooksSucceeded, "every "+l.Stage+" hook succeeded")
		}
		return true, workloop.Done()
	case Failed:
		return false, workloop.Done()
	}
	return false, res
}

// Post advances a session's post hooks (Independent: all run), after
// SkipByPolicy marked those whose executionPolicy does not match the
// outcome, and returns when to look again. A failure is reported once.
func (r *Runner) Post(ctx context.Context, l List, failed bool, c Conditions, report Report) workloop.Result {
	SkipByPolicy(l.Infos, l.Status, failed)
	l.Independent = true
	_, res, msg := r.Step(ctx, l)
	if msg != "" {
		report(c.Type, false, c.FailedReason, msg)
	}
	return res
}

// ReasonHooksSucceeded is the reason of a True hooks condition.
const ReasonHooksSucceeded = "HooksSucceeded"

// NewList makes a list of session's hooks of one stage (pre or post; name
// is preBackup, postRestore...) with the placeholders every hook may use:
// NAMESPACE, SESSION_NAME, sessionVar (BACKUP_SESSION or RESTORE_SESSION),
// TARGET_KIND, TARGET_NAME, and extra. wake enqueues the session.
func NewList(session metav1.Object, sessionVar, stage, name string, target common.TypedObjectReference, extra map[string]string, wake func()) List {
	ns, n := session.GetNamespace(), session.GetName()
	vars := map[string]string{"NAMESPACE": ns, "SESSION_NAME": n, sessionVar: n, "TARGET_KIND": target.Kind, "TARGET_NAME": target.Name}
	for k, v := range extra {
		vars[k] = v
	}
	return List{Key: StageKey(session, stage), Stage: name, Namespace: ns, Vars: vars, Wake: wake}
}

// StageKey is the prefix of session's hooks of one stage (pre or post) in
// this process.
func StageKey(session metav1.Object, stage string) string {
	return Key(session.GetNamespace(), session.GetName()) + string(session.GetUID()) + "/" + stage + "/"
}

// Running reports whether a hook under prefix (a StageKey) was started by
// this process and has not ended. A session skipped or failed while its
// pre hook still runs (a freeze) must not run its post hooks (the thaw)
// before that hook is over; its end wakes the session.
func (r *Runner) Running(prefix string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, run := range r.runs {
		if strings.HasPrefix(k, prefix) && !run.done {
			return true
		}
	}
	return false
}

// AnyFailed reports whether a hook of list failed (for pre hooks: the data
// step never ran).
func AnyFailed(list []corev1alpha1.HookExecutionStatus) bool {
	for _, h := range list {
		if h.Phase == corev1alpha1.HookFailed {
			return true
		}
	}
	return false
}

// newlyFailed are the hooks of status that failed while persisted does not
// say so yet: the failures this sync found, to be told once in an Event.
func newlyFailed(status, persisted []corev1alpha1.HookExecutionStatus) []corev1alpha1.HookExecutionStatus {
	var out []corev1alpha1.HookExecutionStatus
	for _, e := range status {
		if e.Phase == corev1alpha1.HookFailed && !holds(persisted, e) {
			out = append(out, e)
		}
	}
	return out
}

// describe joins failed hooks into one sentence for a condition or Event.
func describe(stage string, failed []corev1alpha1.HookExecutionStatus) string {
	parts := make([]string, 0, len(failed))
	for _, f := range failed {
		parts = append(parts, fmt.Sprintf("%s hook %s failed: %s", stage, f.Name, f.Error))
	}
	return strings.Join(parts, "; ")
}

// holds reports whether list has e's phase for e's hook.
func holds(list []corev1alpha1.HookExecutionStatus, e corev1alpha1.HookExecutionStatus) bool {
	for _, h := range list {
		if h.Name == e.Name {
			return h.Phase == e.Phase
		}
	}
	return false
}

func (r *Runner) result(key string) (done bool, err error, known bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if run, ok := r.runs[key]; ok {
		return run.done, run.err, true
	}
	return false, nil, false
}

// start runs h in a goroutine under key and calls wake when it ends.
func (r *Runner) start(ctx context.Context, key string, h hooks.Hook, wake func()) {
	run := &run{}
	r.mu.Lock()
	r.runs[key] = run
	r.mu.Unlock()
	go func() {
		err := r.hooks.Run(ctx, h)
		if ctx.Err() != nil {
			// The operator is stopping (or lost the lease): a hook cut off
			// by that is not the hook's failure. Nothing is recorded; the
			// next leader finds it Pending and runs it again.
			return
		}
		r.mu.Lock()
		run.done, run.err = true, err
		r.mu.Unlock()
		if wake != nil {
			wake()
		}
	}()
}

// resolve finds hook name's HookTemplate, checks the session's namespace
// may use it, and makes the hooks.Hook to run.
func (r *Runner) resolve(l List, name string) (hooks.Hook, error) {
	var info *corev1alpha1.HookInfo
	for i := range l.Infos {
		if l.Infos[i].Name == name {
			info = &l.Infos[i]
		}
	}
	if info == nil {
		return hooks.Hook{}, fmt.Errorf("%s hook %s is no longer in the spec", l.Stage, name)
	}
	ref := info.HookTemplate.WithNamespace(l.Namespace)
	tpl, err := r.templates.HookTemplates(ref.Namespace).Get(ref.Name)
	if err != nil {
		return hooks.Hook{}, fmt.Errorf("HookTemplate %s/%s does not exist", ref.Namespace, ref.Name)
	}
	if err := usage.Check(tpl.Spec.UsagePolicy, "HookTemplate", tpl.Namespace, tpl.Name, l.Namespace, r.namespaces); err != nil {
		return hooks.Hook{}, err
	}
	h := hooks.FromInfo(*info, tpl, l.Namespace)
	h.Vars, h.Pods = l.Vars, l.Pods
	return h, nil
}

// Sooner is the earlier of two requeues (a zero one means none).
func Sooner(a, b workloop.Result) workloop.Result {
	if b.RequeueAfter > 0 && (a.RequeueAfter == 0 || b.RequeueAfter < a.RequeueAfter) {
		return b
	}
	return a
}
