package volumeclaims

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	typedstoragev1 "k8s.io/client-go/kubernetes/typed/storage/v1"
)

// DefaultClassAnnotation marks the cluster's default StorageClass.
const DefaultClassAnnotation = "storageclass.kubernetes.io/is-default-class"

// NoClassError is a claim whose StorageClass does not exist, or that names
// none when the cluster has no default: nothing will ever bind it.
type NoClassError struct {
	// Claim is the claim's name; Class the class it names ("" for the default).
	Claim, Class string
}

func (e *NoClassError) Error() string {
	if e.Class == "" {
		return fmt.Sprintf("PersistentVolumeClaim %s names no storageClassName and the cluster has no default StorageClass", e.Claim)
	}
	return fmt.Sprintf("StorageClass %q of PersistentVolumeClaim %s does not exist", e.Class, e.Claim)
}

// Class is the StorageClass that provisions claim: the one it names, or
// the cluster's default when it names none. A claim with an empty
// storageClassName binds only to pre-provisioned volumes: nil, no error.
func Class(ctx context.Context, classes typedstoragev1.StorageClassInterface, claim *corev1.PersistentVolumeClaim) (*storagev1.StorageClass, error) {
	if name := claim.Spec.StorageClassName; name != nil {
		if *name == "" {
			return nil, nil
		}
		sc, err := classes.Get(ctx, *name, metav1.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) {
				return nil, &NoClassError{Claim: claim.Name, Class: *name}
			}
			return nil, fmt.Errorf("reading StorageClass %s: %w", *name, err)
		}
		return sc, nil
	}
	list, err := classes.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing StorageClasses for the default: %w", err)
	}
	for i := range list.Items {
		if list.Items[i].Annotations[DefaultClassAnnotation] == "true" {
			return &list.Items[i], nil
		}
	}
	return nil, &NoClassError{Claim: claim.Name}
}

// BindsImmediately reports whether class binds a new claim at once
// (volumeBindingMode Immediate, the default) rather than when a pod first
// uses it (WaitForFirstConsumer), that is whether waiting for Bound makes
// sense before any pod mounts the claim.
func BindsImmediately(class *storagev1.StorageClass) bool {
	return class != nil && (class.VolumeBindingMode == nil || *class.VolumeBindingMode == storagev1.VolumeBindingImmediate)
}

// LostError is a claim that went Lost while a restore waited for it.
type LostError struct{ Claim string }

func (e *LostError) Error() string {
	return fmt.Sprintf("PersistentVolumeClaim %s is Lost: its volume is gone", e.Claim)
}

// WaitBound waits until claim name is Bound, checking every interval, and
// returns it; ctx bounds the wait (its error says the claim was not bound
// in time, with the claim's phase).
func WaitBound(ctx context.Context, client typedcorev1.PersistentVolumeClaimInterface, name string, interval time.Duration) (*corev1.PersistentVolumeClaim, error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var last *corev1.PersistentVolumeClaim
	for {
		pvc, err := client.Get(ctx, name, metav1.GetOptions{})
		switch {
		case err == nil:
			last = pvc
			if pvc.Status.Phase == corev1.ClaimBound {
				return pvc, nil
			}
			if pvc.Status.Phase == corev1.ClaimLost {
				return nil, &LostError{Claim: name}
			}
		case apierrors.IsNotFound(err):
			return nil, fmt.Errorf("PersistentVolumeClaim %s was deleted while the restore waited for it to bind", name)
		case ctx.Err() == nil && !TransientAPIError(err):
			return nil, fmt.Errorf("reading PersistentVolumeClaim %s: %w", name, err)
		}
		select {
		case <-ctx.Done():
			phase := corev1.ClaimPending
			if last != nil && last.Status.Phase != "" {
				phase = last.Status.Phase
			}
			return nil, fmt.Errorf("PersistentVolumeClaim %s is still %s (not Bound): %w; its events (kubectl describe pvc %s) say why", name, phase, ctx.Err(), name)
		case <-t.C:
		}
	}
}

// TransientAPIError reports an API error worth another attempt (an API
// server restarting, throttling, a dropped connection), for the restore
// runners that wait on claims and write status.
func TransientAPIError(err error) bool {
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err) ||
		utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err)
}
