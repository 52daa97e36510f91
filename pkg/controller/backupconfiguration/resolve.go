package backupconfiguration

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"

	addonsv1alpha1 "github.com/cairnbackup/cairn/pkg/apis/addons/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller/internal/usage"
	"github.com/cairnbackup/cairn/pkg/hooks"
)

// checkTarget records whether the target exists. A target in another
// namespace is refused: a config backs up its own namespace's workloads.
func (c *Controller) checkTarget(bc *corev1alpha1.BackupConfiguration, r *report) bool {
	t := bc.Spec.Target
	const cond = corev1alpha1.ConditionTargetFound
	if t.Namespace != "" && t.Namespace != bc.Namespace {
		r.fail(cond, ReasonTargetInvalid, fmt.Sprintf("target %s %s is in namespace %q; a BackupConfiguration backs up targets in its own namespace %q: create it there", t.Kind, t.Name, t.Namespace, bc.Namespace), true)
		return false
	}
	var err error
	switch t.Kind {
	case "Deployment":
		_, err = c.deployments.Deployments(bc.Namespace).Get(t.Name)
	case "StatefulSet":
		_, err = c.statefulsets.StatefulSets(bc.Namespace).Get(t.Name)
	case "DaemonSet":
		_, err = c.daemonsets.DaemonSets(bc.Namespace).Get(t.Name)
	case "PersistentVolumeClaim":
		_, err = c.pvcs.PersistentVolumeClaims(bc.Namespace).Get(t.Name)
	default:
		r.fail(cond, ReasonTargetInvalid, fmt.Sprintf("target kind %q is not supported: use Deployment, StatefulSet, DaemonSet (apiGroup apps) or PersistentVolumeClaim", t.Kind), true)
		return false
	}
	switch {
	case apierrors.IsNotFound(err):
		r.fail(cond, ReasonTargetNotFound, fmt.Sprintf("%s %s/%s does not exist; create it or fix spec.target", t.Kind, bc.Namespace, t.Name), false)
		return false
	case err != nil:
		r.fail(cond, ReasonTargetNotFound, fmt.Sprintf("looking up %s %s: %v", t.Kind, t.Name, err), false)
		return false
	}
	r.ok(cond, ReasonTargetFound, fmt.Sprintf("%s %s found", t.Kind, t.Name))
	return true
}

// checkAddons records whether every session's addon, tasks, Functions and
// required params are there.
func (c *Controller) checkAddons(bc *corev1alpha1.BackupConfiguration, r *report) {
	const cond = corev1alpha1.ConditionAddonReady
	for _, s := range bc.Spec.Sessions {
		addon, err := c.addons.Get(s.Addon.Name)
		if err != nil {
			r.fail(cond, ReasonAddonNotFound, fmt.Sprintf("session %s: Addon %q is not installed (kubectl get addons lists those there; Cairn's own come with its manifests)", s.Name, s.Addon.Name), false)
			continue
		}
		for _, ref := range s.Addon.Tasks {
			task := findTask(addon.Spec.BackupTasks, ref.Name)
			if task == nil {
				r.fail(cond, ReasonTaskNotFound, fmt.Sprintf("session %s: Addon %s has no backup task %q; its backup tasks are %s", s.Name, addon.Name, ref.Name, taskNames(addon.Spec.BackupTasks)), true)
				continue
			}
			if _, err := c.functions.Get(task.Function); err != nil {
				r.fail(cond, ReasonFunctionNotFound, fmt.Sprintf("session %s: task %s of Addon %s runs Function %q, which is not installed", s.Name, task.Name, addon.Name, task.Function), false)
			}
			checkParams(s.Name, task, ref.Params, r)
		}
	}
	r.ok(cond, ReasonAddonReady, "the addons, their tasks and Functions are installed and every required param is set")
}

// checkHooks records whether every session's preBackup and postBackup
// hooks can run: the HookTemplate exists, may be used from the config's
// namespace, has an executor and action Cairn runs, and the hook gives
// every required param. A session would otherwise learn it only when its
// hook fails.
func (c *Controller) checkHooks(bc *corev1alpha1.BackupConfiguration, r *report) {
	const cond = corev1alpha1.ConditionHooksReady
	for _, s := range bc.Spec.Sessions {
		if s.Hooks == nil {
			continue
		}
		for _, stage := range []struct {
			name  string
			infos []corev1alpha1.HookInfo
		}{{"preBackup", s.Hooks.PreBackup}, {"postBackup", s.Hooks.PostBackup}} {
			for _, h := range stage.infos {
				c.checkHook(bc.Namespace, fmt.Sprintf("session %s: %s hook %s", s.Name, stage.name, h.Name),
					fmt.Sprintf("sessions[%s].hooks.%s[%s]", s.Name, stage.name, h.Name), h, r)
			}
		}
	}
	r.ok(cond, ReasonHooksReady, "every hook's HookTemplate exists, may be used from this namespace and can run")
}

// checkHook checks one hook; which names it in a message, field is where
// the config sets it.
func (c *Controller) checkHook(ns, which, field string, h corev1alpha1.HookInfo, r *report) {
	const cond = corev1alpha1.ConditionHooksReady
	ref := h.HookTemplate.WithNamespace(ns)
	tpl, err := c.templates.HookTemplates(ref.Namespace).Get(ref.Name)
	if err != nil {
		r.fail(cond, ReasonHookTemplateNotFound, fmt.Sprintf("%s uses HookTemplate %s/%s, which does not exist: create it, or name an existing one in %s.hookTemplate (kubectl get hooktemplates -A lists them)",
			which, ref.Namespace, ref.Name, field), false)
		return
	}
	if err := usage.Check(tpl.Spec.UsagePolicy, "HookTemplate", tpl.Namespace, tpl.Name, ns, c.namespaces); err != nil {
		r.fail(cond, ReasonHookTemplateNotAllowed, fmt.Sprintf("%s: %v", which, err), false)
		return
	}
	if err := hooks.CheckTemplate(&tpl.Spec); err != nil {
		r.fail(cond, ReasonHookTemplateCannotRun, fmt.Sprintf("%s: HookTemplate %s/%s cannot run: %v; fix the HookTemplate or name another in %s.hookTemplate",
			which, tpl.Namespace, tpl.Name, err, field), false)
		return
	}
	if err := hooks.CheckUse(h, tpl); err != nil {
		r.fail(cond, ReasonHookInvalid, fmt.Sprintf("%s: %v (%s)", which, err, field), true)
	}
}

func checkParams(session string, task *addonsv1alpha1.Task, given map[string]string, r *report) {
	const cond = corev1alpha1.ConditionAddonReady
	known := map[string]bool{}
	for _, p := range task.Parameters {
		known[p.Name] = true
		if p.Required && p.Default == "" && given[p.Name] == "" {
			r.fail(cond, ReasonParamMissing, fmt.Sprintf("session %s: task %s needs param %q (%s); set it in addon.tasks[].params", session, task.Name, p.Name, p.Usage), true)
		}
	}
	var unknown []string
	for name := range given {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		r.fail(cond, ReasonParamUnknown, fmt.Sprintf("session %s: task %s has no param %s; its params are %s", session, task.Name, strings.Join(unknown, ", "), paramNames(task)), true)
	}
}

func findTask(tasks []addonsv1alpha1.Task, name string) *addonsv1alpha1.Task {
	for i := range tasks {
		if tasks[i].Name == name {
			return &tasks[i]
		}
	}
	return nil
}

func taskNames(tasks []addonsv1alpha1.Task) string {
	n := make([]string, 0, len(tasks))
	for _, t := range tasks {
		n = append(n, t.Name)
	}
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, ", ")
}

func paramNames(t *addonsv1alpha1.Task) string {
	n := make([]string, 0, len(t.Parameters))
	for _, p := range t.Parameters {
		n = append(n, p.Name)
	}
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, ", ")
}

// backend is one resolved entry of spec.backends (or the defaults).
type backend struct {
	storage *storagev1alpha1.BackupStorage
	policy  *storagev1alpha1.RetentionPolicy
}

// backendRefs returns spec.backends, or one entry named
// DefaultBackendName for the pinned or newly chosen defaults.
func (c *Controller) backendRefs(bc *corev1alpha1.BackupConfiguration, r *report) ([]corev1alpha1.BackendReference, *corev1alpha1.ResolvedBackend) {
	if len(bc.Spec.Backends) > 0 {
		return bc.Spec.Backends, nil
	}
	pinned := bc.Status.DefaultBackend
	if pinned == nil {
		storage, serr := pickDefault(c.listStorages(), bc.Namespace, "BackupStorage", c.namespaces)
		policy, perr := pickDefault(c.listPolicies(), bc.Namespace, "RetentionPolicy", c.namespaces)
		for _, err := range []error{serr, perr} {
			var d *noDefaultError
			if errors.As(err, &d) {
				r.fail(corev1alpha1.ConditionBackendsReady, d.reason, d.Error(), false)
			}
		}
		if serr != nil || perr != nil {
			return nil, nil
		}
		pinned = &corev1alpha1.ResolvedBackend{StorageRef: storage, RetentionPolicy: policy}
	}
	return []corev1alpha1.BackendReference{{Name: corev1alpha1.DefaultBackendName, StorageRef: pinned.StorageRef, RetentionPolicy: pinned.RetentionPolicy}}, pinned
}

// checkBackends resolves every backend's storage and policy, checks that
// they exist, are usable from the config's namespace, and that the storage
// is Ready.
func (c *Controller) checkBackends(bc *corev1alpha1.BackupConfiguration, refs []corev1alpha1.BackendReference, r *report) map[string]backend {
	const cond = corev1alpha1.ConditionBackendsReady
	out := map[string]backend{}
	for _, b := range refs {
		var be backend
		sns, pns := b.StorageRef.WithNamespace(bc.Namespace).Namespace, b.RetentionPolicy.WithNamespace(bc.Namespace).Namespace
		storage, err := c.storages.BackupStorages(sns).Get(b.StorageRef.Name)
		switch {
		case err != nil:
			r.fail(cond, ReasonStorageNotFound, fmt.Sprintf("backend %s: BackupStorage %s/%s does not exist", b.Name, sns, b.StorageRef.Name), false)
		case c.denied(storage.Spec.UsagePolicy, "BackupStorage", sns, storage.Name, bc.Namespace, r, ReasonStorageNotAllowed):
		case storage.Status.Phase != storagev1alpha1.BackupStorageReady:
			r.fail(cond, ReasonStorageNotReady, fmt.Sprintf("backend %s: BackupStorage %s/%s is not Ready (see its status conditions)", b.Name, sns, storage.Name), false)
			be.storage = storage
		default:
			be.storage = storage
		}
		policy, err := c.policies.RetentionPolicies(pns).Get(b.RetentionPolicy.Name)
		switch {
		case err != nil:
			r.fail(cond, ReasonPolicyNotFound, fmt.Sprintf("backend %s: RetentionPolicy %s/%s does not exist", b.Name, pns, b.RetentionPolicy.Name), false)
		case c.denied(policy.Spec.UsagePolicy, "RetentionPolicy", pns, policy.Name, bc.Namespace, r, ReasonPolicyNotAllowed):
		default:
			if verr := policy.Spec.Validate(); verr != nil {
				r.fail(cond, ReasonPolicyInvalid, fmt.Sprintf("backend %s: RetentionPolicy %s/%s: %v", b.Name, pns, policy.Name, verr), false)
			}
			be.policy = policy
		}
		out[b.Name] = be
	}
	r.ok(cond, ReasonBackendsReady, "every BackupStorage is Ready and every RetentionPolicy is valid and usable from this namespace")
	return out
}

// denied records a usage-policy refusal and reports whether there was one.
func (c *Controller) denied(p *common.UsagePolicy, kind, ns, name, from string, r *report, reason string) bool {
	err := usage.Check(p, kind, ns, name, from, c.namespaces)
	if err == nil {
		return false
	}
	r.fail(corev1alpha1.ConditionBackendsReady, reason, err.Error(), false)
	return true
}

func (c *Controller) listStorages() []candidate {
	all, _ := c.storages.List(labels.Everything())
	out := make([]candidate, 0, len(all))
	for _, s := range all {
		if s.Spec.Default {
			out = append(out, candidate{ns: s.Namespace, name: s.Name, usage: s.Spec.UsagePolicy})
		}
	}
	return out
}

func (c *Controller) listPolicies() []candidate {
	all, _ := c.policies.List(labels.Everything())
	out := make([]candidate, 0, len(all))
	for _, p := range all {
		if p.Spec.Default {
			out = append(out, candidate{ns: p.Namespace, name: p.Name, usage: p.Spec.UsagePolicy})
		}
	}
	return out
}

// candidate is an object marked `default: true`.
type candidate struct {
	ns, name string
	usage    *common.UsagePolicy
}

// noDefaultError says why no single default could be chosen.
type noDefaultError struct {
	reason, msg string
}

func (e *noDefaultError) Error() string { return e.msg }

// pickDefault chooses the default of a kind for namespace ns: the one in
// ns itself, else the one elsewhere whose usage policy allows ns. None, or
// several at the same level, is an error that says so.
func pickDefault(cands []candidate, ns, kind string, namespaces usage.NamespaceGetter) (common.ObjectReference, error) {
	var same, other []candidate
	for _, c := range cands {
		switch {
		case c.ns == ns:
			same = append(same, c)
		case usage.Check(c.usage, kind, c.ns, c.name, ns, namespaces) == nil:
			other = append(other, c)
		}
	}
	pick := same
	if len(pick) == 0 {
		pick = other
	}
	switch len(pick) {
	case 1:
		return common.ObjectReference{Namespace: pick[0].ns, Name: pick[0].name}, nil
	case 0:
		return common.ObjectReference{}, &noDefaultError{ReasonNoDefault, fmt.Sprintf(
			"spec.backends is omitted and no %s with `default: true` is usable from namespace %s: mark one as default (in this namespace, or with a usage policy that allows it) or set spec.backends", kind, ns)}
	default:
		n := make([]string, 0, len(pick))
		for _, c := range pick {
			n = append(n, c.ns+"/"+c.name)
		}
		sort.Strings(n)
		return common.ObjectReference{}, &noDefaultError{ReasonSeveralDefaults, fmt.Sprintf(
			"spec.backends is omitted and several %ss are marked `default: true` for namespace %s (%s): keep one default or set spec.backends", kind, ns, strings.Join(n, ", "))}
	}
}
