package hooks

import (
	"k8s.io/apimachinery/pkg/labels"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
)

// CheckTemplate refuses a HookTemplate no session can run: an executor
// Cairn does not run (Function) or does not know, a Pod executor without
// executor.pod or whose selector does not parse, an exec action given to
// the operator, an exec action without a command, an action that sets
// nothing. Run refuses these first, as a *ConfigError; the
// BackupConfiguration controller calls it to say so in the config's
// conditions before any session runs.
func CheckTemplate(spec *corev1alpha1.HookTemplateSpec) error {
	a, ex := spec.Action, spec.Executor
	switch ex.Type {
	case corev1alpha1.ExecutorPod:
		if ex.Pod == nil {
			return configErrorf("executor type Pod needs executor.pod")
		}
		if _, err := parseSelector(ex.Pod.Selector); err != nil {
			return err
		}
	case corev1alpha1.ExecutorOperator:
		if a.Exec != nil {
			return configErrorf("an exec action runs inside pods: use executor type Pod")
		}
	case corev1alpha1.ExecutorFunction:
		return configErrorf("executor type Function is not supported by Cairn yet: use Pod (exec in the target's pods) or Operator (HTTP from the operator)")
	default:
		return configErrorf("unknown executor type %q: use Pod (exec in the target's pods) or Operator (HTTP from the operator)", ex.Type)
	}
	switch {
	case a.Exec != nil && len(a.Exec.Command) == 0:
		return configErrorf("the exec action has no command")
	case a.Exec == nil && a.HTTPGet == nil && a.HTTPPost == nil:
		return configErrorf("the action sets none of exec, httpGet, httpPost")
	}
	return nil
}

// CheckUse refuses what a session's use of a HookTemplate (its HookInfo)
// gets wrong whatever happens at run time: a required param without a
// value, a variable taken from elsewhere (valueFrom). Run refuses these
// too, as a *ConfigError.
func CheckUse(info corev1alpha1.HookInfo, tpl *corev1alpha1.HookTemplate) error {
	h := FromInfo(info, tpl, "")
	return h.check()
}

// parseSelector reads a Pod executor's label selector.
func parseSelector(s string) (labels.Selector, error) {
	sel, err := labels.Parse(s)
	if err != nil {
		return nil, configErrorf("executor.pod.selector %q is not a label selector: %v", s, err)
	}
	return sel, nil
}
