// Package usage decides whether an object in one namespace may use a shared
// BackupStorage, RetentionPolicy or HookTemplate, by that object's
// usagePolicy.allowedNamespaces (Same by default, All, or Selector on the
// namespace's labels). Every controller that resolves a reference asks it,
// so one team's storage cannot be used by another team by accident.
package usage

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/cairnbackup/cairn/pkg/apis/common"
)

// NamespaceGetter finds a namespace by name (a lister in the operator).
type NamespaceGetter interface {
	Get(name string) (*corev1.Namespace, error)
}

// DeniedError says a namespace may not use an object, and why.
type DeniedError struct {
	Kind, Namespace, Name string // the shared object
	From                  string // the namespace that wants to use it
	Reason                string
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("%s %s/%s may not be used from namespace %q: %s", e.Kind, e.Namespace, e.Name, e.From, e.Reason)
}

// Check returns nil when namespace from may use the object kind
// namespace/name whose usage policy is p, and a *DeniedError otherwise.
// Other errors come from looking the namespace up for a Selector policy.
func Check(p *common.UsagePolicy, kind, namespace, name, from string, namespaces NamespaceGetter) error {
	if from == namespace {
		return nil
	}
	mode := common.NamespacesFromSame
	var sel *metav1.LabelSelector
	if p != nil {
		if p.AllowedNamespaces.From != nil {
			mode = *p.AllowedNamespaces.From
		}
		sel = p.AllowedNamespaces.Selector
	}
	deny := func(reason string) error {
		return &DeniedError{Kind: kind, Namespace: namespace, Name: name, From: from, Reason: reason}
	}
	switch mode {
	case common.NamespacesFromAll:
		return nil
	case common.NamespacesFromSelector:
		if sel == nil {
			return deny("its usagePolicy.allowedNamespaces.from is Selector but no selector is set")
		}
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			return deny(fmt.Sprintf("its usagePolicy selector is invalid: %v", err))
		}
		ns, err := namespaces.Get(from)
		if err != nil {
			return fmt.Errorf("looking up namespace %s: %w", from, err)
		}
		if !s.Matches(labels.Set(ns.Labels)) {
			return deny(fmt.Sprintf("the namespace's labels do not match its usagePolicy selector %q; label the namespace or widen usagePolicy.allowedNamespaces", s.String()))
		}
		return nil
	default:
		return deny("its usagePolicy.allowedNamespaces.from is Same; set it to All or Selector in that object to share it")
	}
}
