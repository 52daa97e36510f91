// Package addontest holds the steps the storage add-on integration tests
// share: claims, helper pods and bounded waits that report the last state
// they saw.
package addontest

import (
	"context"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/test/internal/proc"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Image is the busybox image the cluster imports at start.
const Image = "cairn.local/busybox:1"

// Claim returns a 16 MiB claim of class (empty: the default class).
func Claim(name, class string, mode corev1.PersistentVolumeAccessMode) *corev1.PersistentVolumeClaim {
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{mode},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceStorage: resource.MustParse("16Mi")}},
		},
	}
	if class != "" {
		pvc.Spec.StorageClassName = &class
	}
	return pvc
}

// WaitBound waits until the claim is Bound and returns it.
func WaitBound(ctx context.Context, kube kubernetes.Interface, ns, name string) (*corev1.PersistentVolumeClaim, error) {
	var pvc *corev1.PersistentVolumeClaim
	err := proc.Wait(ctx, 2*time.Minute, "claim "+ns+"/"+name+" to bind", nil, func(ctx context.Context) (bool, string, error) {
		var err error
		pvc, err = kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		return pvc.Status.Phase == corev1.ClaimBound, fmt.Sprintf("phase %s, %s", pvc.Status.Phase, lastEvent(ctx, kube, ns, name)), nil
	})
	return pvc, err
}

// RunPod runs script in a busybox pod with claim mounted at /data (no
// volume when claim is empty) and waits until it succeeds; a failing script
// fails the wait with its exit code.
func RunPod(ctx context.Context, kube kubernetes.Interface, ns, name, claim, script string) error {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{
				Name: "main", Image: Image, ImagePullPolicy: corev1.PullNever,
				Command:      []string{"/bin/sh", "-c", script},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
			}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}},
		},
	}
	if claim == "" {
		pod.Spec.Volumes, pod.Spec.Containers[0].VolumeMounts = nil, nil
	}
	if _, err := kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create pod %s: %w", name, err)
	}
	return proc.Wait(ctx, 3*time.Minute, "pod "+ns+"/"+name+" to succeed", nil, func(ctx context.Context) (bool, string, error) {
		p, err := kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		switch p.Status.Phase {
		case corev1.PodSucceeded:
			return true, "", nil
		case corev1.PodFailed:
			code := int32(-1)
			if cs := p.Status.ContainerStatuses; len(cs) > 0 && cs[0].State.Terminated != nil {
				code = cs[0].State.Terminated.ExitCode
			}
			return false, "", fmt.Errorf("pod failed (exit code %d): %s", code, lastEvent(ctx, kube, ns, name))
		}
		return false, fmt.Sprintf("phase %s, %s", p.Status.Phase, lastEvent(ctx, kube, ns, name)), nil
	})
}

// lastEvent describes the newest event about object name, for wait errors.
func lastEvent(ctx context.Context, kube kubernetes.Interface, ns, name string) string {
	evs, err := kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
	if err != nil || len(evs.Items) == 0 {
		return "no events"
	}
	last := evs.Items[0]
	for _, e := range evs.Items[1:] {
		if e.LastTimestamp.After(last.LastTimestamp.Time) {
			last = e
		}
	}
	return "last event: " + last.Reason + ": " + last.Message
}
