package hooks

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
)

// TestCheckTemplate: what no session can run is refused with a
// *ConfigError saying what to change; what can run passes.
func TestCheckTemplate(t *testing.T) {
	exec := corev1alpha1.HookAction{Exec: &corev1.ExecAction{Command: []string{"sync"}}}
	get := corev1alpha1.HookAction{HTTPGet: &corev1.HTTPGetAction{Host: "hooks.example", Port: intstr.FromInt32(80)}}
	operator := corev1alpha1.HookExecutor{Type: corev1alpha1.ExecutorOperator}
	for name, c := range map[string]struct {
		tpl  *corev1alpha1.HookTemplate
		want string // "" when it can run
	}{
		"exec in pods":        {template(exec, podExecutor("")), ""},
		"http from operator":  {template(get, operator), ""},
		"http to a pod":       {template(get, podExecutor("")), ""},
		"Function executor":   {template(exec, corev1alpha1.HookExecutor{Type: corev1alpha1.ExecutorFunction, Function: &corev1alpha1.FunctionHookExecutor{Name: "f"}}), "Function is not supported"},
		"unknown executor":    {template(exec, corev1alpha1.HookExecutor{Type: "Lambda"}), `unknown executor type "Lambda"`},
		"Pod without pod":     {template(exec, corev1alpha1.HookExecutor{Type: corev1alpha1.ExecutorPod}), "needs executor.pod"},
		"bad selector":        {template(exec, corev1alpha1.HookExecutor{Type: corev1alpha1.ExecutorPod, Pod: &corev1alpha1.PodHookExecutor{Selector: "app in (web"}}), "is not a label selector"},
		"exec from operator":  {template(exec, operator), "use executor type Pod"},
		"exec without a word": {template(corev1alpha1.HookAction{Exec: &corev1.ExecAction{}}, podExecutor("")), "no command"},
		"no action":           {template(corev1alpha1.HookAction{}, operator), "none of exec, httpGet, httpPost"},
	} {
		err := CheckTemplate(&c.tpl.Spec)
		var cerr *ConfigError
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: refused: %v", name, err)
		case c.want != "" && (!errors.As(err, &cerr) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %T %v, want a ConfigError saying %q", name, err, err, c.want)
		}
	}
}

// TestCheckUse: a required param without a value or default, and a
// variable with valueFrom, are the session's mistakes.
func TestCheckUse(t *testing.T) {
	exec := corev1alpha1.HookAction{Exec: &corev1.ExecAction{Command: []string{"dump ${DB}"}}}
	tpl := template(exec, podExecutor(""), common.ParameterDefinition{Name: "DB", Required: true})
	tpl.Namespace, tpl.Name = "infra", "dump"
	if err := CheckUse(corev1alpha1.HookInfo{Name: "h", Params: map[string]string{"DB": "app"}}, tpl); err != nil {
		t.Fatalf("param given: %v", err)
	}
	if err := CheckUse(corev1alpha1.HookInfo{Name: "h"}, tpl); err == nil || !strings.Contains(err.Error(), "param DB is required by HookTemplate infra/dump") {
		t.Fatalf("param missing: %v", err)
	}
	withSecret := corev1alpha1.HookInfo{Name: "h", Params: map[string]string{"DB": "app"}, Variables: []corev1.EnvVar{{Name: "PW", ValueFrom: &corev1.EnvVarSource{}}}}
	if err := CheckUse(withSecret, tpl); err == nil || !strings.Contains(err.Error(), "valueFrom") {
		t.Fatalf("valueFrom: %v", err)
	}
}
