package restoresession

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/pkg/jobs"
)

// claimUsers are the pods of a namespace that mount each claim, other than
// Cairn's own restore pods, and that have not ended.
type claimUsers map[string][]*corev1.Pod

// usersOfClaims lists the namespace's pods once (a restore starts rarely;
// pods are not watched cluster-wide) and indexes them by the claims they
// mount.
func (c *Controller) usersOfClaims(ctx context.Context, ns string) (claimUsers, error) {
	pods, err := c.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing the pods that use the target's volumes: %w", err)
	}
	users := claimUsers{}
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Labels[jobs.LabelRestoreSession] != "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		for _, v := range p.Spec.Volumes {
			if claim := jobs.ClaimOf(v); claim != "" {
				users[claim] = append(users[claim], p)
			}
		}
	}
	return users, nil
}

// unmountable says why a restore Job for comp could never mount one of its
// volumes, or "": a ReadWriteOncePod claim another pod uses (only that pod
// may mount it), or a ReadWriteOnce claim in use on another node than the
// one the Job is pinned to. Such a Job's pod would wait in Pending forever,
// or, pinned to a node, bypass the scheduler's ReadWriteOncePod check.
func (c *Controller) unmountable(ns string, comp jobs.Component, users claimUsers) string {
	for _, v := range comp.Volumes {
		pvc, err := c.claims.PersistentVolumeClaims(ns).Get(v.ClaimName)
		if err != nil {
			continue // a missing claim is the Job's to report
		}
		pods := users[v.ClaimName]
		if len(pods) == 0 {
			continue
		}
		switch {
		case hasMode(pvc, corev1.ReadWriteOncePod):
			return fmt.Sprintf("PersistentVolumeClaim %s is ReadWriteOncePod and pod %s uses it, so no restore Job can mount it: stop the pods that use it (scale the workload to 0) and create the RestoreSession again", pvc.Name, podNames(pods))
		case hasMode(pvc, corev1.ReadWriteOnce) && !hasMode(pvc, corev1.ReadWriteMany) && comp.NodeName != "":
			for _, p := range pods {
				if p.Spec.NodeName != "" && p.Spec.NodeName != comp.NodeName {
					return fmt.Sprintf("PersistentVolumeClaim %s is ReadWriteOnce and attached to node %s, where pod %s uses it, but the restore Job must run on node %s (where another volume of the target is): stop the pods that use it and create the RestoreSession again", pvc.Name, p.Spec.NodeName, p.Name, comp.NodeName)
				}
			}
		}
	}
	return ""
}

func hasMode(pvc *corev1.PersistentVolumeClaim, m corev1.PersistentVolumeAccessMode) bool {
	for _, have := range pvc.Spec.AccessModes {
		if have == m {
			return true
		}
	}
	return false
}

func podNames(pods []*corev1.Pod) string {
	n := make([]string, len(pods))
	for i, p := range pods {
		n[i] = p.Name
	}
	return strings.Join(n, ", ")
}

// volumeConflict reports whether the scheduler's reason for not placing a
// restore pod is a volume it can never mount there, which no wait cures:
// a ReadWriteOncePod claim another pod holds, or a volume bound to another
// node's storage.
func volumeConflict(why string) bool {
	return strings.Contains(why, "ReadWriteOncePod") || strings.Contains(why, "volume node affinity conflict")
}
