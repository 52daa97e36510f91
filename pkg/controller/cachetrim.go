package controller

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/meta"
)

// LastAppliedAnnotation is where `kubectl apply` keeps the whole object as
// it was last applied: a second copy of its spec.
const LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// TrimForCache is the informers' transform: it drops each object's
// managedFields before the object enters a cache. Server-side apply's field
// ownership records are often as large as the spec itself, no controller reads
// them, and an Update built from a cached copy without them leaves the
// server's records as they are (nil means "unchanged"), so dropping them cuts
// the operator's memory at no cost in behaviour. Objects that are not
// Kubernetes objects (tombstones) pass through untouched.
func TrimForCache(obj any) (any, error) {
	if a, err := meta.Accessor(obj); err == nil {
		a.SetManagedFields(nil)
	}
	return obj, nil
}

// TrimReadOnly is the transform of the kinds the operator reads and never
// writes (Informers.Kube: namespaces, nodes, PVCs, Deployments,
// StatefulSets, DaemonSets). Besides managedFields it drops kubectl's
// last-applied-configuration annotation, a copy of the object as applied,
// and the workloads' status, which no controller reads: a cluster's
// Deployments can be most of the operator's memory. Never use it for a kind
// the operator updates: an Update built from a copy without the annotation
// would remove it from the server, and `kubectl apply` would then merge
// wrongly.
func TrimReadOnly(obj any) (any, error) {
	if a, err := meta.Accessor(obj); err == nil {
		if ann := a.GetAnnotations(); ann[LastAppliedAnnotation] != "" {
			delete(ann, LastAppliedAnnotation)
			a.SetAnnotations(ann)
		}
	}
	switch o := obj.(type) {
	case *appsv1.Deployment:
		o.Status = appsv1.DeploymentStatus{}
	case *appsv1.StatefulSet:
		o.Status = appsv1.StatefulSetStatus{}
	case *appsv1.DaemonSet:
		o.Status = appsv1.DaemonSetStatus{}
	}
	return TrimForCache(obj)
}

// TrimManaged is the transform of the objects Cairn creates
// (Informers.Managed). A trigger CronJob's job template (its pod spec,
// command and security settings: about 6 KiB of memory each, one per
// config session) is dropped: the BackupConfiguration controller compares
// the jobs.SpecHashAnnotation of the cached CronJob with the one it wants
// and, when they differ, writes the whole spec it built. So a cached
// CronJob's spec.jobTemplate is always empty: read it with a GET.
func TrimManaged(obj any) (any, error) {
	if cj, ok := obj.(*batchv1.CronJob); ok {
		cj.Spec.JobTemplate = batchv1.JobTemplateSpec{}
	}
	return TrimForCache(obj)
}
