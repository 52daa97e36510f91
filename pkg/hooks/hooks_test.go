package hooks

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
)

// fakeExec records the commands it ran and answers from script.
type fakeExec struct {
	mu     sync.Mutex
	ran    []string // "pod/container: command"
	answer func(pod string, attempt int) error
}

func (f *fakeExec) Exec(ctx context.Context, ns, pod, container string, command []string) error {
	f.mu.Lock()
	f.ran = append(f.ran, pod+"/"+container+": "+strings.Join(command, " "))
	n := len(f.ran)
	f.mu.Unlock()
	if f.answer == nil {
		return nil
	}
	return f.answer(pod, n)
}

func runningPod(name, ip string, labels map[string]string, ready bool) *corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: name, Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "app", Ports: []corev1.ContainerPort{{Name: "admin", ContainerPort: 1}}}, {Name: "sidecar"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip,
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: st}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}},
	}
}

func template(action corev1alpha1.HookAction, ex corev1alpha1.HookExecutor, params ...common.ParameterDefinition) *corev1alpha1.HookTemplate {
	return &corev1alpha1.HookTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "tpl"},
		Spec: corev1alpha1.HookTemplateSpec{Action: action, Executor: ex, Params: params}}
}

func podExecutor(strategy corev1alpha1.PodHookStrategy) corev1alpha1.HookExecutor {
	return corev1alpha1.HookExecutor{Type: corev1alpha1.ExecutorPod, Pod: &corev1alpha1.PodHookExecutor{Selector: "app=web", Strategy: strategy}}
}

var web = map[string]string{"app": "web"}

func TestRunExecsInOnePodOrAll(t *testing.T) {
	kube := kubefake.NewSimpleClientset(runningPod("web-b", "", web, true), runningPod("web-a", "", web, false),
		runningPod("other", "", map[string]string{"app": "db"}, true))
	action := corev1alpha1.HookAction{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "echo ${GREETING} to ${NAMESPACE} > /data/${FILE}"}}}
	for _, tc := range []struct {
		strategy corev1alpha1.PodHookStrategy
		want     []string
	}{
		// One pod: the ready one before the name order.
		{"", []string{"web-b/app: sh -c echo hello to app > /data/hook.txt"}},
		{corev1alpha1.ExecuteOnAll, []string{"web-a/app: sh -c echo hello to app > /data/hook.txt", "web-b/app: sh -c echo hello to app > /data/hook.txt"}},
	} {
		ex := &fakeExec{}
		r := NewRunner(kube, ex, nil)
		tpl := template(action, podExecutor(tc.strategy), common.ParameterDefinition{Name: "GREETING", Default: "hi"}, common.ParameterDefinition{Name: "FILE", Required: true})
		h := Hook{Name: "h", Template: tpl, Namespace: "app", Params: map[string]string{"GREETING": "hello", "FILE": "hook.txt"}, Vars: map[string]string{"NAMESPACE": "app"}}
		if err := r.Run(context.Background(), h); err != nil {
			t.Fatalf("%q: %v", tc.strategy, err)
		}
		if strings.Join(ex.ran, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%q ran %q, want %q", tc.strategy, ex.ran, tc.want)
		}
	}
}

func TestRunFailuresAreTyped(t *testing.T) {
	kube := kubefake.NewSimpleClientset(runningPod("web-0", "", web, true))
	exit := &ExitError{Pod: "web-0", Container: "app", Code: 3, Output: "no space"}
	exec := corev1alpha1.HookAction{Exec: &corev1.ExecAction{Command: []string{"freeze"}}}
	cases := []struct {
		name    string
		tpl     *corev1alpha1.HookTemplate
		hook    func(*Hook)
		answer  func(string, int) error
		check   func(error) bool
		retried int // exec calls expected
	}{
		{"exit code, retried maxRetry times", template(exec, podExecutor("")), func(h *Hook) { h.MaxRetry = 1 },
			func(string, int) error { return exit }, func(err error) bool { var e *ExitError; return errors.As(err, &e) && e.Code == 3 }, 2},
		{"a retry that succeeds", template(exec, podExecutor("")), func(h *Hook) { h.MaxRetry = 2 },
			func(_ string, n int) error {
				if n == 1 {
					return exit
				}
				return nil
			}, func(err error) bool { return err == nil }, 2},
		{"timeout", template(exec, podExecutor("")), func(h *Hook) { h.Timeout = 50 * time.Millisecond },
			nil, func(err error) bool { var e *TimeoutError; return errors.As(err, &e) && e.After == 50*time.Millisecond }, 1},
		{"required param missing: not retried", template(exec, podExecutor(""), common.ParameterDefinition{Name: "X", Required: true}), func(h *Hook) { h.MaxRetry = 3 },
			nil, func(err error) bool {
				var e *ConfigError
				return errors.As(err, &e) && strings.Contains(e.Msg, "param X is required")
			}, 0},
		{"placeholder without value", template(corev1alpha1.HookAction{Exec: &corev1.ExecAction{Command: []string{"echo ${NOPE}"}}}, podExecutor("")), nil,
			nil, func(err error) bool { var e *ConfigError; return errors.As(err, &e) && strings.Contains(e.Msg, "NOPE") }, 0},
		{"no pod matches", template(exec, corev1alpha1.HookExecutor{Type: corev1alpha1.ExecutorPod, Pod: &corev1alpha1.PodHookExecutor{Selector: "app=gone"}}), nil,
			nil, func(err error) bool { var e *NoPodError; return errors.As(err, &e) }, 0},
		{"pod without the container", template(exec, corev1alpha1.HookExecutor{Type: corev1alpha1.ExecutorPod, Pod: &corev1alpha1.PodHookExecutor{Selector: "app=web", Container: "sidecar"}}), nil,
			nil, func(err error) bool {
				var e *NoPodError
				return errors.As(err, &e) && strings.Contains(e.Why, `does not run container "sidecar"`)
			}, 0},
		{"exec from the operator", template(exec, corev1alpha1.HookExecutor{Type: corev1alpha1.ExecutorOperator}), nil,
			nil, func(err error) bool {
				var e *ConfigError
				return errors.As(err, &e) && strings.Contains(e.Msg, "executor type Pod")
			}, 0},
		{"Function executor", template(exec, corev1alpha1.HookExecutor{Type: corev1alpha1.ExecutorFunction}), nil,
			nil, func(err error) bool {
				var e *ConfigError
				return errors.As(err, &e) && strings.Contains(e.Msg, "not supported")
			}, 0},
		{"variable from a secret", template(exec, podExecutor("")), func(h *Hook) {
			h.Variables = []corev1.EnvVar{{Name: "PW", ValueFrom: &corev1.EnvVarSource{}}}
		}, nil, func(err error) bool {
			var e *ConfigError
			return errors.As(err, &e) && strings.Contains(e.Msg, "valueFrom")
		}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ex := &fakeExec{answer: tc.answer}
			if tc.name == "timeout" {
				ex.answer = func(string, int) error { time.Sleep(200 * time.Millisecond); return context.DeadlineExceeded }
			}
			h := Hook{Name: "h", Template: tc.tpl, Namespace: "app"}
			if tc.hook != nil {
				tc.hook(&h)
			}
			r := NewRunner(kube, ex, nil)
			r.delay = time.Millisecond
			err := r.Run(context.Background(), h)
			if !tc.check(err) {
				t.Fatalf("error %T %v", err, err)
			}
			if len(ex.ran) != tc.retried {
				t.Errorf("ran %d times, want %d", len(ex.ran), tc.retried)
			}
		})
	}
}

func TestSelectPodsLimitsToReplicas(t *testing.T) {
	pods := []corev1.Pod{*runningPod("db-0", "", nil, true), *runningPod("db-1", "", nil, true), *runningPod("db-2", "", nil, true)}
	got, err := SelectPods(pods, Selection{Strategy: corev1alpha1.ExecuteOnAll, Only: []string{"db-2", "db-1"}})
	if err != nil || len(got) != 2 || got[0].Name != "db-1" || got[1].Name != "db-2" {
		t.Fatalf("got %v, %v", got, err)
	}
	pending := runningPod("db-3", "", nil, true)
	pending.Status.Phase = corev1.PodPending
	_, err = SelectPods([]corev1.Pod{*pending}, Selection{Namespace: "app", Selector: "app=db"})
	var np *NoPodError
	if !errors.As(err, &np) || !strings.Contains(err.Error(), "db-3 is Pending") {
		t.Fatalf("got %v", err)
	}
}

// httpHook serves on 127.0.0.1 and records requests.
type httpHook struct {
	srv  *httptest.Server
	port int
	mu   sync.Mutex
	reqs []string // "METHOD path?query content-type auth body"
	code int
}

func newHTTPHook(t *testing.T) *httpHook {
	h := &httpHook{code: http.StatusOK}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.reqs = append(h.reqs, strings.Join([]string{r.Method, r.URL.RequestURI(), r.Header.Get("Content-Type"), r.Header.Get("Authorization"), string(body)}, " "))
		code := h.code
		h.mu.Unlock()
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "answer from the app")
	}))
	t.Cleanup(h.srv.Close)
	_, p, _ := net.SplitHostPort(h.srv.Listener.Addr().String())
	h.port, _ = strconv.Atoi(p)
	return h
}

func TestRunHTTPHooks(t *testing.T) {
	srv := newHTTPHook(t)
	pod := runningPod("web-0", "127.0.0.1", web, true)
	pod.Spec.Containers[0].Ports[0].ContainerPort = int32(srv.port)
	kube := kubefake.NewSimpleClientset(pod)
	r := NewRunner(kube, nil, nil)
	params := map[string]string{"TOKEN": "s3cret", "STATE": "frozen"}
	defs := []common.ParameterDefinition{{Name: "TOKEN"}, {Name: "STATE"}}

	// GET from the operator to a host, with a header from a param.
	get := template(corev1alpha1.HookAction{HTTPGet: &corev1.HTTPGetAction{Host: "127.0.0.1", Port: intstr.FromInt32(int32(srv.port)), Path: "/hook/${STATE}",
		HTTPHeaders: []corev1.HTTPHeader{{Name: "Authorization", Value: "Bearer ${TOKEN}"}}}}, corev1alpha1.HookExecutor{Type: corev1alpha1.ExecutorOperator}, defs...)
	if err := r.Run(context.Background(), Hook{Name: "g", Template: get, Namespace: "app", Params: params}); err != nil {
		t.Fatal(err)
	}
	// POST of a form to the selected pod's IP on its named port.
	post := template(corev1alpha1.HookAction{HTTPPost: &corev1alpha1.HTTPPostAction{Port: intstr.FromString("admin"), Path: "notify",
		Form: []corev1alpha1.FormEntry{{Key: "state", Values: []string{"${STATE}"}}}}}, podExecutor(""), defs...)
	if err := r.Run(context.Background(), Hook{Name: "p", Template: post, Namespace: "app", Params: params}); err != nil {
		t.Fatal(err)
	}
	// POST of a JSON body from the operator.
	body := template(corev1alpha1.HookAction{HTTPPost: &corev1alpha1.HTTPPostAction{Host: "127.0.0.1", Port: intstr.FromInt32(int32(srv.port)), Path: "/j",
		HTTPHeaders: []corev1.HTTPHeader{{Name: "Content-Type", Value: "application/json"}}, Body: `{"state":"${STATE}"}`}}, corev1alpha1.HookExecutor{Type: corev1alpha1.ExecutorOperator}, defs...)
	if err := r.Run(context.Background(), Hook{Name: "b", Template: body, Namespace: "app", Params: params}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"GET /hook/frozen  Bearer s3cret ",
		"POST /notify application/x-www-form-urlencoded  state=frozen",
		`POST /j application/json  {"state":"frozen"}`,
	}
	if strings.Join(srv.reqs, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(srv.reqs, "\n"), strings.Join(want, "\n"))
	}

	// A 5xx is an *HTTPError with the start of the answer and no query.
	srv.code = http.StatusServiceUnavailable
	q := get.DeepCopy()
	q.Spec.Action.HTTPGet.Path = "/hook?token=${TOKEN}"
	err := r.Run(context.Background(), Hook{Name: "g", Template: q, Namespace: "app", Params: params})
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 503 || he.Body != "answer from the app" || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("got %v", err)
	}
	// An HTTP action from the operator needs a host.
	nohost := template(corev1alpha1.HookAction{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(80)}}, corev1alpha1.HookExecutor{Type: corev1alpha1.ExecutorOperator})
	var ce *ConfigError
	if err := r.Run(context.Background(), Hook{Name: "n", Template: nohost, Namespace: "app"}); !errors.As(err, &ce) {
		t.Fatalf("got %v", err)
	}
}

func TestTailKeepsTheEnd(t *testing.T) {
	tl := &tail{max: 8}
	_, _ = tl.Write([]byte("0123456789"))
	_, _ = tl.Write([]byte("ab\n"))
	if got := tl.String(); got != "...56789ab" {
		t.Fatalf("got %q", got)
	}
	short := &tail{max: 8}
	_, _ = short.Write([]byte(" ok \n"))
	if got := short.String(); got != "ok" {
		t.Fatalf("got %q", got)
	}
}
