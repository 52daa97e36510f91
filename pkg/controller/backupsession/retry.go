package backupsession

import (
	"context"
	"fmt"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/controller/internal/workloop"
	"github.com/cairnbackup/cairn/pkg/names"
)

// ReasonRetried is the Event of a failed session that made a retry.
const ReasonRetried = "Retried"

// retry makes the retry session of a Failed one that has retries left
// (retryConfig.maxRetry counts down in spec.retryLeft): status.nextRetry is
// set first, and once it passed a BackupSession <name>-retry-<n> with one
// retry fewer is created and status.retried set. Skipped sessions are not
// retried: nothing failed.
func (c *Controller) retry(ctx context.Context, bs *corev1alpha1.BackupSession) (workloop.Result, error) {
	if bs.Status.Phase != corev1alpha1.BackupSessionFailed || bs.Spec.RetryLeft <= 0 || (bs.Status.Retried != nil && *bs.Status.Retried) {
		return workloop.Done(), nil
	}
	now := c.now()
	if bs.Status.NextRetry == nil {
		delay := time.Duration(0)
		if bc, err := c.configs.BackupConfigurations(bs.Namespace).Get(bs.Spec.Invoker.Name); err == nil {
			for _, s := range bc.Spec.Sessions {
				if s.Name == bs.Spec.Session && s.RetryConfig != nil && s.RetryConfig.Delay != nil {
					delay = s.RetryConfig.Delay.Duration
				}
			}
		}
		next := metav1.NewTime(now.Add(delay).Truncate(time.Second))
		return workloop.After(delay + time.Second), c.updateStatus(ctx, bs, func(st *corev1alpha1.BackupSessionStatus) { st.NextRetry = &next })
	}
	if wait := bs.Status.NextRetry.Sub(now); wait > 0 {
		return workloop.After(wait), nil
	}
	name, base, n := retryName(bs)
	retry := &corev1alpha1.BackupSession{
		ObjectMeta: metav1.ObjectMeta{Namespace: bs.Namespace, Name: name, Labels: bs.Labels,
			Annotations: map[string]string{retryOfAnnotation: base, retryNumberAnnotation: strconv.Itoa(n)}},
		Spec: corev1alpha1.BackupSessionSpec{Invoker: bs.Spec.Invoker, Session: bs.Spec.Session, RetryLeft: bs.Spec.RetryLeft - 1},
	}
	if _, err := c.cairn.CoreV1alpha1().BackupSessions(bs.Namespace).Create(ctx, retry, metav1.CreateOptions{FieldManager: controller.FieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
		return workloop.Done(), fmt.Errorf("creating retry session %s: %w", retry.Name, err)
	}
	c.recorder.Eventf(bs, "Normal", ReasonRetried, "Retrying as BackupSession %s (%d retries left after it)", retry.Name, retry.Spec.RetryLeft)
	yes := true
	return workloop.Done(), c.updateStatus(ctx, bs, func(st *corev1alpha1.BackupSessionStatus) { st.Retried = &yes })
}

// retryName is <base>-retry-<n> for the retry of bs: base is the original
// session, n counts from 1 for its first retry.
func retryName(bs *corev1alpha1.BackupSession) (name, base string, n int) {
	base, n = bs.Name, 1
	if v := bs.Annotations[retryOfAnnotation]; v != "" {
		base = v
	}
	if v, err := strconv.Atoi(bs.Annotations[retryNumberAnnotation]); err == nil {
		n = v + 1
	}
	return names.Join(names.MaxLabelLength, base, "retry", strconv.Itoa(n)), base, n
}

// Annotations of a retry session: which session it retries, and which retry.
const (
	retryOfAnnotation     = "cairn.dev/retry-of"
	retryNumberAnnotation = "cairn.dev/retry"
)

// updateStatus writes mutate's change to bs's status.
func (c *Controller) updateStatus(ctx context.Context, bs *corev1alpha1.BackupSession, mutate func(*corev1alpha1.BackupSessionStatus)) error {
	st := bs.Status.DeepCopy()
	mutate(st)
	_, err := c.writeStatus(ctx, bs, st)
	return err
}
