package hooks

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
)

// Selection says which of the pods a Pod executor's selector matched run
// the hook.
type Selection struct {
	// Namespace and Selector only name the pods in a NoPodError.
	Namespace, Selector string
	// Container must be running in a chosen pod; empty means the first.
	Container string
	// Strategy is ExecuteOnOne (the default) or ExecuteOnAll.
	Strategy corev1alpha1.PodHookStrategy
	// Only, when set, keeps just these pod names.
	Only []string
}

// SelectPods picks the pods a hook runs in, KubeStash's way: of the pods
// the selector matched, those running (not being deleted) with the
// container running; ExecuteOnOne takes one of them, a ready one first
// and then by name, so a Deployment's hook runs once and a StatefulSet's
// in its lowest replica; ExecuteOnAll takes them all, by name (every
// replica of a StatefulSet). No pod is a *NoPodError saying why.
func SelectPods(pods []corev1.Pod, s Selection) ([]*corev1.Pod, error) {
	var ok []*corev1.Pod
	var why []string
	for i := range pods {
		p := &pods[i]
		if len(s.Only) > 0 && !slices.Contains(s.Only, p.Name) {
			continue
		}
		if reason := unusable(p, s.Container); reason != "" {
			why = append(why, p.Name+" "+reason)
			continue
		}
		ok = append(ok, p)
	}
	if len(ok) == 0 {
		sort.Strings(why)
		return nil, &NoPodError{Namespace: s.Namespace, Selector: s.Selector, Why: strings.Join(why, "; ")}
	}
	sort.SliceStable(ok, func(i, j int) bool {
		ri, rj := ready(ok[i]), ready(ok[j])
		if ri != rj && s.Strategy != corev1alpha1.ExecuteOnAll {
			return ri
		}
		return ok[i].Name < ok[j].Name
	})
	if s.Strategy == corev1alpha1.ExecuteOnAll {
		return ok, nil
	}
	return ok[:1], nil
}

// unusable says why a hook cannot run in p, or "".
func unusable(p *corev1.Pod, container string) string {
	switch {
	case p.DeletionTimestamp != nil:
		return "is being deleted"
	case p.Status.Phase != corev1.PodRunning:
		return fmt.Sprintf("is %s", p.Status.Phase)
	case len(p.Spec.Containers) == 0:
		return "has no containers"
	}
	if container == "" {
		container = p.Spec.Containers[0].Name
	}
	if !slices.ContainsFunc(p.Spec.Containers, func(c corev1.Container) bool { return c.Name == container }) {
		return fmt.Sprintf("has no container %q", container)
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == container && cs.State.Running != nil {
			return ""
		}
	}
	return fmt.Sprintf("does not run container %q yet", container)
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
