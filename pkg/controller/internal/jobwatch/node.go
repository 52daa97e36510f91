package jobwatch

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/cairnbackup/cairn/pkg/controller"
)

// NodeLost says why the node a pod is bound to can neither run it to its
// end nor stop it: its Node object is gone, or its kubelet stopped posting
// status (the node controller set Ready to Unknown or tainted it
// unreachable). Such a pod never reports an end and never goes away by
// itself (pod garbage collection waits for the node), so a session that
// waited on it would wait forever. "" means the node is fine, the pod is
// not bound yet or has ended, or nodes is nil.
func NodeLost(p *corev1.Pod, nodes corelisters.NodeLister) string {
	if nodes == nil || p.Spec.NodeName == "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return ""
	}
	n, err := nodes.Get(p.Spec.NodeName)
	if apierrors.IsNotFound(err) {
		return fmt.Sprintf("its node %s is gone (the Node object was deleted)", p.Spec.NodeName)
	}
	if err != nil {
		return ""
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionUnknown {
			return fmt.Sprintf("its node %s is unreachable since %s: %s", n.Name, c.LastTransitionTime.UTC().Format("15:04:05"), c.Message)
		}
	}
	for _, t := range n.Spec.Taints {
		if t.Key == corev1.TaintNodeUnreachable {
			return fmt.Sprintf("its node %s is unreachable (tainted %s)", n.Name, t.Key)
		}
	}
	return ""
}

// ActiveOn counts the pods that have not ended and still can: like Active,
// but a pod on a lost node (NodeLost) is not waited for.
func ActiveOn(pods []*corev1.Pod, nodes corelisters.NodeLister) int {
	n := 0
	for _, p := range pods {
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed && NodeLost(p, nodes) == "" {
			n++
		}
	}
	return n
}

// TrimNode drops what a Node carries that NodeLost never reads (managed
// fields and the list of images, the bulk of a Node object), so watching
// the nodes of a large cluster costs little memory.
func TrimNode(obj any) (any, error) {
	if n, ok := obj.(*corev1.Node); ok {
		n.Status.Images = nil
	}
	return controller.TrimForCache(obj)
}

// Disrupted says how a pod that had not finished was taken away: its
// DisruptionTarget condition (an eviction through the API, a preemption,
// the taint manager, pod garbage collection, the kubelet under pressure)
// or, without one, a plain deletion. A runner stopped this way can only
// say it was interrupted, not why; this is the why. "" for a pod that is
// neither.
func Disrupted(p *corev1.Pod) string {
	if p.Status.Phase == corev1.PodSucceeded {
		return ""
	}
	for _, c := range p.Status.Conditions {
		if c.Type != corev1.DisruptionTarget || c.Status != corev1.ConditionTrue {
			continue
		}
		how := "was disrupted"
		switch c.Reason {
		case "EvictionByEvictionAPI":
			how = "was evicted through the Eviction API (a node drain or another eviction)"
		case "PreemptionByScheduler":
			how = "was preempted by a pod of higher priority"
		case "DeletionByTaintManager":
			how = "was deleted because its node has a NoExecute taint it does not tolerate"
		case "DeletionByPodGC":
			how = "was deleted by pod garbage collection (its node is gone)"
		case "TerminationByKubelet":
			how = "was evicted by the kubelet (node pressure or shutdown)"
		}
		return fmt.Sprintf("%s (%s: %s)", how, c.Reason, c.Message)
	}
	if p.DeletionTimestamp != nil {
		return "was deleted before it finished"
	}
	return ""
}

// OnLostNode names the sessions (by the value of their pods' label) with
// pods on node obj (a Node, or its tombstone) that NodeLost reports lost,
// so a Node watch wakes exactly the sessions that must fail at once
// instead of waiting on pods that can no longer end.
func OnLostNode(obj any, pods corelisters.PodLister, nodes corelisters.NodeLister, label string) []cache.ObjectName {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	n, ok := obj.(*corev1.Node)
	if !ok {
		return nil
	}
	all, _ := pods.List(labels.Everything())
	var out []cache.ObjectName
	for _, p := range all {
		if name := p.Labels[label]; name != "" && p.Spec.NodeName == n.Name && NodeLost(p, nodes) != "" {
			out = append(out, cache.ObjectName{Namespace: p.Namespace, Name: name})
		}
	}
	return out
}
