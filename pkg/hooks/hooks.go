// Package hooks runs one backup or restore hook of a HookTemplate: a
// command exec'd in the target's pods (client-go's remotecommand, the
// pods/exec subresource), or an HTTP GET or POST the operator makes. It
// substitutes the template's params into the action, picks the pods the
// executor selects, bounds every run by the hook's timeout, retries up to
// maxRetry times, captures a command's output only to explain a failure,
// and returns typed errors. It never logs a command, a header or an
// output: params and variables may hold secrets.
package hooks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
)

// DefaultTimeout bounds one run of a hook that sets no timeout, so a hung
// command cannot hold a session forever.
const DefaultTimeout = 30 * time.Second

// MaxErrorOutput is how much of a failed command's output (its tail) or
// of an HTTP answer (its start) goes into the error, and so into a status.
const MaxErrorOutput = 512

// Hook is one use of a HookTemplate by a session.
type Hook struct {
	// Name of the hook in the session's list.
	Name string
	// Template is the HookTemplate, already allowed for Namespace.
	Template *corev1alpha1.HookTemplate
	// Params are the session's values for the template's params.
	Params map[string]string
	// Variables are the session's extra values (HookInfo.variables).
	Variables []corev1.EnvVar
	// Vars are values the caller provides (namespace, session, target...).
	Vars map[string]string
	// Namespace is the session's: where the executor's pods are looked for.
	Namespace string
	// Pods, when set, limits a Pod executor to these pod names (the
	// replicas of a StatefulSet whose components a restore touches).
	Pods []string
	// Timeout of one run; zero means DefaultTimeout.
	Timeout time.Duration
	// MaxRetry is how often a failed run is retried.
	MaxRetry int
}

// FromInfo fills a Hook's session-side fields from the session's HookInfo.
func FromInfo(info corev1alpha1.HookInfo, tpl *corev1alpha1.HookTemplate, namespace string) Hook {
	h := Hook{Name: info.Name, Template: tpl, Params: info.Params, Variables: info.Variables,
		Namespace: namespace, MaxRetry: int(info.MaxRetry)}
	if info.Timeout != nil {
		h.Timeout = info.Timeout.Duration
	}
	return h
}

// Budget is the longest a hook can take with its retries: a caller that
// waits for it looks again after this at the latest.
func (h *Hook) Budget() time.Duration {
	return time.Duration(h.MaxRetry+1)*(h.timeout()+retryDelay) + 5*time.Second
}

func (h *Hook) timeout() time.Duration {
	if h.Timeout > 0 {
		return h.Timeout
	}
	return DefaultTimeout
}

// retryDelay separates the attempts of a failing hook.
const retryDelay = 2 * time.Second

// Execer runs a command in a pod's container and returns an *ExitError,
// holding the tail of its output, for a non-zero exit. PodExec is the real
// one; tests use a fake.
type Execer interface {
	Exec(ctx context.Context, namespace, pod, container string, command []string) error
}

// Runner runs hooks for the operator.
type Runner struct {
	kube  kubernetes.Interface
	exec  Execer
	http  *http.Client
	delay time.Duration // between attempts
}

// NewRunner makes a Runner that lists pods with kube, execs with exec and
// makes requests with client (http.DefaultClient's transport if nil).
func NewRunner(kube kubernetes.Interface, exec Execer, client *http.Client) *Runner {
	if client == nil {
		client = &http.Client{}
	}
	return &Runner{kube: kube, exec: exec, http: client, delay: retryDelay}
}

// Run runs h until it succeeds, its retries are spent, or ctx ends. Each
// attempt is bounded by h's timeout; a *ConfigError is not retried.
func (r *Runner) Run(ctx context.Context, h Hook) error {
	logger := klog.FromContext(ctx).WithValues("hook", h.Name, "hookTemplate", klog.KObj(h.Template))
	if err := CheckTemplate(&h.Template.Spec); err != nil {
		return err
	}
	if err := h.check(); err != nil {
		return err
	}
	values, err := h.values()
	if err != nil {
		return err
	}
	action, err := Substitute(h.Template.Spec.Action, values)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		start := time.Now()
		actx, cancel := context.WithTimeout(ctx, h.timeout())
		err = r.once(actx, &h, action)
		if err != nil && actx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			err = &TimeoutError{After: h.timeout(), Err: err}
		}
		cancel()
		// Only the outcome and timing are logged: commands, headers and
		// output may carry the params' secrets.
		logger.V(2).Info("Hook run", "attempt", attempt+1, "ok", err == nil, "duration", time.Since(start).Round(time.Millisecond))
		var cerr *ConfigError
		if err == nil || errors.As(err, &cerr) || attempt >= h.MaxRetry || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(r.delay):
		}
	}
}

// once runs the action once wherever the executor says (CheckTemplate
// let only a Pod executor, or the operator with an HTTP action, through).
func (r *Runner) once(ctx context.Context, h *Hook, a corev1alpha1.HookAction) error {
	if ex := h.Template.Spec.Executor; ex.Type == corev1alpha1.ExecutorPod {
		pods, err := r.pods(ctx, h, ex.Pod)
		if err != nil {
			return err
		}
		for _, p := range pods {
			if err := r.inPod(ctx, a, p, ex.Pod.Container); err != nil {
				return err
			}
		}
		return nil
	}
	if a.HTTPGet != nil {
		return r.get(ctx, a.HTTPGet, nil, "")
	}
	return r.post(ctx, a.HTTPPost, nil, "")
}

// inPod runs the action in (exec) or against (HTTP to its IP) pod p.
func (r *Runner) inPod(ctx context.Context, a corev1alpha1.HookAction, p *corev1.Pod, container string) error {
	if container == "" {
		container = p.Spec.Containers[0].Name
	}
	switch {
	case a.Exec != nil:
		if r.exec == nil {
			return configErrorf("this operator cannot exec in pods (no API server connection configured for it)")
		}
		return r.exec.Exec(ctx, p.Namespace, p.Name, container, a.Exec.Command)
	case a.HTTPGet != nil:
		return r.get(ctx, a.HTTPGet, p, container)
	}
	return r.post(ctx, a.HTTPPost, p, container)
}

// pods lists and selects the pods a Pod executor runs in.
func (r *Runner) pods(ctx context.Context, h *Hook, ex *corev1alpha1.PodHookExecutor) ([]*corev1.Pod, error) {
	sel, err := parseSelector(ex.Selector)
	if err != nil {
		return nil, err
	}
	list, err := r.kube.CoreV1().Pods(h.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("listing the pods of selector %q: %w", ex.Selector, err)
	}
	return SelectPods(list.Items, Selection{Namespace: h.Namespace, Selector: ex.Selector, Container: ex.Container, Strategy: ex.Strategy, Only: h.Pods})
}
