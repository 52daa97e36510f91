// Package targets reads a backup or restore target (Deployment,
// StatefulSet, DaemonSet or PersistentVolumeClaim) and splits it into the
// components one Job each moves: "dump" for a Deployment or PVC,
// "dump-pod-<ordinal>" per StatefulSet replica, "dump-<node>" per
// DaemonSet pod, with the PVCs each mounts, where the application mounts
// them, the node a ReadWriteOnce volume is attached to, and the pod's
// security context.
package targets

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/labels"
)

// Reasons of Error.
const (
	ReasonTargetNotFound = "TargetNotFound"
	ReasonInvalid        = "InvalidTarget"
	ReasonNothingToMove  = "NothingToBackUp"
)

// Error is a target that cannot be used as it is; retrying does not help.
type Error struct{ Reason, Msg string }

func (e *Error) Error() string { return e.Msg }

func fail(reason, format string, a ...any) error {
	return &Error{Reason: reason, Msg: fmt.Sprintf(format, a...)}
}

// Resolver reads targets from the operator's informers; pods are listed
// on demand (only when a session starts), never watched cluster-wide.
type Resolver struct {
	kube         kubernetes.Interface
	pvcs         corelisters.PersistentVolumeClaimLister
	deployments  appslisters.DeploymentLister
	statefulsets appslisters.StatefulSetLister
	daemonsets   appslisters.DaemonSetLister
}

// New takes the listers from d's informer factories.
func New(d controller.Deps) *Resolver {
	kf := d.Informers.Kube
	return &Resolver{kube: d.Kube, pvcs: kf.Core().V1().PersistentVolumeClaims().Lister(),
		deployments: kf.Apps().V1().Deployments().Lister(), statefulsets: kf.Apps().V1().StatefulSets().Lister(),
		daemonsets: kf.Apps().V1().DaemonSets().Lister()}
}

// Components splits target t (in namespace ns) into the components one Job
// each moves, with the volumes, node and security context of each.
func (c *Resolver) Components(ctx context.Context, ns string, t common.TypedObjectReference) ([]jobs.Component, error) {
	_, place, err := c.Split(ctx, ns, t)
	if err != nil {
		return nil, err
	}
	return place(ctx), nil
}

// Place returns a copy of the components Split returned with where they
// run (the node a ReadWriteOnce volume is attached to) and as whom (the
// security context of the pod that uses a claim) filled in from live reads
// of the target's pods. It never fails: a pod it cannot read leaves the
// component unpinned and the template's user in place.
type Place func(ctx context.Context) []jobs.Component

// Split is Components without the pod reads: it checks the target and
// names its components from the informer caches (a DaemonSet's, which are
// its pods, from one live list), and returns the reads that place them.
// A backup start runs those reads beside its first API writes, one round
// trip fewer before its Jobs.
func (c *Resolver) Split(ctx context.Context, ns string, t common.TypedObjectReference) ([]jobs.Component, Place, error) {
	notFound := func(err error) error {
		if apierrors.IsNotFound(err) {
			return fail(ReasonTargetNotFound, "%s %s/%s does not exist", t.Kind, ns, t.Name)
		}
		return err
	}
	switch t.Kind {
	case "PersistentVolumeClaim":
		pvc, err := fresh(ctx, t.Name, c.pvcs.PersistentVolumeClaims(ns).Get, c.kube.CoreV1().PersistentVolumeClaims(ns).Get)
		if err != nil {
			return nil, nil, notFound(err)
		}
		comps := []jobs.Component{{Name: jobs.ComponentDump, Volumes: jobs.PVCVolumes(pvc.Name)}}
		// The runner takes the user of a pod that mounts the claim (so it
		// reads and writes what the application does, a shared
		// ReadWriteMany volume too); only a ReadWriteOnce claim pins the
		// Job to that pod's node.
		return comps, func(ctx context.Context) []jobs.Component {
			out := slices.Clone(comps)
			node, security := c.nodeOfClaimUser(ctx, ns, pvc.Name)
			out[0].PodSecurity = security
			if rwo(pvc) {
				out[0].NodeName = node
			}
			return out
		}, nil
	case "Deployment":
		d, err := fresh(ctx, t.Name, c.deployments.Deployments(ns).Get, c.kube.AppsV1().Deployments(ns).Get)
		if err != nil {
			return nil, nil, notFound(err)
		}
		comps, err := nonEmpty(t.Kind, t.Name, []jobs.Component{{Name: jobs.ComponentDump, Volumes: jobs.PodVolumes(&d.Spec.Template.Spec, jobs.ClaimOf), PodSecurity: d.Spec.Template.Spec.SecurityContext}})
		if err != nil {
			return nil, nil, err
		}
		return comps, func(ctx context.Context) []jobs.Component {
			out := slices.Clone(comps)
			if c.anyRWO(ns, out[0].Volumes) {
				out[0].NodeName = c.nodeOfRunningPod(ctx, ns, d.Spec.Selector)
			}
			return out
		}, nil
	case "StatefulSet":
		s, err := fresh(ctx, t.Name, c.statefulsets.StatefulSets(ns).Get, c.kube.AppsV1().StatefulSets(ns).Get)
		if err != nil {
			return nil, nil, notFound(err)
		}
		replicas := int32(1)
		if s.Spec.Replicas != nil {
			replicas = *s.Spec.Replicas
		}
		var comps []jobs.Component
		for i := int32(0); i < replicas; i++ {
			comps = append(comps, jobs.Component{Name: jobs.StatefulSetComponent(i), Volumes: jobs.StatefulSetVolumes(s, i), PodSecurity: s.Spec.Template.Spec.SecurityContext})
		}
		if comps, err = nonEmpty(t.Kind, t.Name, comps); err != nil {
			return nil, nil, err
		}
		return comps, func(ctx context.Context) []jobs.Component {
			out := slices.Clone(comps)
			for i := range out {
				if !c.anyRWO(ns, out[i].Volumes) {
					continue
				}
				if pod, err := c.kube.CoreV1().Pods(ns).Get(ctx, fmt.Sprintf("%s-%d", s.Name, i), metav1.GetOptions{}); err == nil && pod.Spec.NodeName != "" {
					out[i].NodeName = pod.Spec.NodeName
				}
			}
			return out
		}, nil
	case "DaemonSet":
		d, err := fresh(ctx, t.Name, c.daemonsets.DaemonSets(ns).Get, c.kube.AppsV1().DaemonSets(ns).Get)
		if err != nil {
			return nil, nil, notFound(err)
		}
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil {
			return nil, nil, fail(ReasonInvalid, "DaemonSet %s has an invalid selector: %v", d.Name, err)
		}
		pods, err := c.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return nil, nil, err
		}
		var comps []jobs.Component
		for _, pod := range pods.Items {
			if pod.Spec.NodeName == "" || pod.DeletionTimestamp != nil {
				continue
			}
			comps = append(comps, jobs.Component{Name: jobs.DaemonSetComponent(pod.Spec.NodeName), NodeName: pod.Spec.NodeName,
				Volumes: jobs.PodVolumes(&d.Spec.Template.Spec, jobs.ClaimOf), PodSecurity: d.Spec.Template.Spec.SecurityContext})
		}
		comps, err = nonEmpty(t.Kind, t.Name, comps)
		return comps, func(context.Context) []jobs.Component { return comps }, err
	}
	return nil, nil, fail(ReasonInvalid, "target kind %q is not supported", t.Kind)
}

// fresh reads a target from the informer cache and, when the cache has
// not seen it, once from the API server: a user who creates a claim and a
// RestoreSession (or a workload and a BackupSession) in one apply reaches
// the operator before its informers do, and a missing target is a
// terminal failure of the session.
func fresh[T any](ctx context.Context, name string, cached func(string) (T, error), live func(context.Context, string, metav1.GetOptions) (T, error)) (T, error) {
	obj, err := cached(name)
	if err == nil || !apierrors.IsNotFound(err) {
		return obj, err
	}
	return live(ctx, name, metav1.GetOptions{})
}

func nonEmpty(kind, name string, comps []jobs.Component) ([]jobs.Component, error) {
	if len(comps) == 0 {
		return nil, fail(ReasonNothingToMove, "%s %s has no pods to back up (scaled to zero?)", kind, name)
	}
	for _, c := range comps {
		if len(c.Volumes) == 0 {
			return nil, fail(ReasonNothingToMove, "%s %s mounts no PersistentVolumeClaim: there is nothing Cairn can back up", kind, name)
		}
	}
	return comps, nil
}

func rwo(pvc *corev1.PersistentVolumeClaim) bool {
	for _, m := range pvc.Spec.AccessModes {
		if m == corev1.ReadWriteOnce || m == corev1.ReadWriteOncePod {
			return true
		}
	}
	return false
}

func (c *Resolver) anyRWO(ns string, vols []jobs.TargetVolume) bool {
	for _, v := range vols {
		if pvc, err := c.pvcs.PersistentVolumeClaims(ns).Get(v.ClaimName); err == nil && rwo(pvc) {
			return true
		}
	}
	return false
}

// runningPods selects Running pods on the API server's side: a namespace
// keeps the finished pods of its Jobs (every kept session's runners), and
// a start needs none of them.
const runningPods = "status.phase=Running"

// notCairns leaves Cairn's own pods out of the search for the pod that
// uses a claim: the application's user is wanted, not that of a runner
// (a restore's runs as root), and a namespace under a burst of backups
// holds a runner pod per session that the API server need not send.
var notCairns = labels.ManagedBy + "!=" + labels.ManagedByValue

// nodeOfRunningPod is the node of a running pod matching sel, or "".
func (c *Resolver) nodeOfRunningPod(ctx context.Context, ns string, sel *metav1.LabelSelector) string {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return ""
	}
	pods, err := c.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: s.String(), FieldSelector: runningPods})
	if err != nil {
		return ""
	}
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning && p.Spec.NodeName != "" {
			return p.Spec.NodeName
		}
	}
	return ""
}

// nodeOfClaimUser finds a running pod that mounts claim: its node (where a
// ReadWriteOnce volume is attached) and its security context.
func (c *Resolver) nodeOfClaimUser(ctx context.Context, ns, claim string) (string, *corev1.PodSecurityContext) {
	pods, err := c.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{FieldSelector: runningPods, LabelSelector: notCairns})
	if err != nil {
		return "", nil
	}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning || p.Spec.NodeName == "" || p.Labels[labels.ManagedBy] == labels.ManagedByValue {
			continue
		}
		for _, v := range p.Spec.Volumes {
			if jobs.ClaimOf(v) == claim {
				return p.Spec.NodeName, p.Spec.SecurityContext
			}
		}
	}
	return "", nil
}
