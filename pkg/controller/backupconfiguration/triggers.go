package backupconfiguration

import (
	"context"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/jobs"
)

var createOpts = metav1.CreateOptions{FieldManager: controller.FieldManager}
var updateOpts = metav1.UpdateOptions{FieldManager: controller.FieldManager}

// ensureTriggerRBAC creates the namespace's trigger ServiceAccount, Role and
// RoleBinding when missing and puts the Role's rules and the binding's
// subjects back if someone changed them.
func (c *Controller) ensureTriggerRBAC(ctx context.Context, ns string) error {
	sa, role, binding := jobs.TriggerRBAC(ns)
	if _, err := c.accounts.ServiceAccounts(ns).Get(sa.Name); apierrors.IsNotFound(err) {
		if _, err := c.kube.CoreV1().ServiceAccounts(ns).Create(ctx, sa, createOpts); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating trigger ServiceAccount %s: %w", sa.Name, err)
		}
	}
	have, err := c.roles.Roles(ns).Get(role.Name)
	switch {
	case apierrors.IsNotFound(err):
		if _, err := c.kube.RbacV1().Roles(ns).Create(ctx, role, createOpts); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating trigger Role %s: %w", role.Name, err)
		}
	case err == nil && !apiequality.Semantic.DeepEqual(have.Rules, role.Rules):
		upd := have.DeepCopy()
		upd.Rules = role.Rules
		if _, err := c.kube.RbacV1().Roles(ns).Update(ctx, upd, updateOpts); err != nil {
			return fmt.Errorf("updating trigger Role %s: %w", role.Name, err)
		}
	}
	hb, err := c.bindings.RoleBindings(ns).Get(binding.Name)
	switch {
	case apierrors.IsNotFound(err):
		if _, err := c.kube.RbacV1().RoleBindings(ns).Create(ctx, binding, createOpts); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating trigger RoleBinding %s: %w", binding.Name, err)
		}
	case err == nil && (hb.RoleRef != binding.RoleRef || !apiequality.Semantic.DeepEqual(hb.Subjects, binding.Subjects)):
		// roleRef is immutable: replace the binding.
		if err := c.kube.RbacV1().RoleBindings(ns).Delete(ctx, hb.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &hb.UID}}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("replacing trigger RoleBinding %s: %w", binding.Name, err)
		}
		if _, err := c.kube.RbacV1().RoleBindings(ns).Create(ctx, binding, createOpts); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("replacing trigger RoleBinding %s: %w", binding.Name, err)
		}
	}
	return nil
}

// ensureCronJobs creates or updates one trigger CronJob per session and
// deletes those of sessions that are gone. It returns the CronJobs by
// session for the status.
func (c *Controller) ensureCronJobs(ctx context.Context, bc *corev1alpha1.BackupConfiguration) (map[string]*batchv1.CronJob, error) {
	out := map[string]*batchv1.CronJob{}
	wanted := map[string]bool{}
	for i := range bc.Spec.Sessions {
		s := &bc.Spec.Sessions[i]
		want := jobs.TriggerCronJob(bc, s, c.image)
		wanted[want.Name] = true
		have, err := c.cronjobs.CronJobs(bc.Namespace).Get(want.Name)
		switch {
		case apierrors.IsNotFound(err):
			created, err := c.kube.BatchV1().CronJobs(bc.Namespace).Create(ctx, want, createOpts)
			if apierrors.IsAlreadyExists(err) {
				continue // the cache is behind; the next sync sees it
			}
			if err != nil {
				return out, fmt.Errorf("creating trigger CronJob %s: %w", want.Name, err)
			}
			c.recorder.Eventf(bc, "Normal", ReasonSchedulerCreated, "Created CronJob %s (schedule %q) for session %s", want.Name, s.Scheduler.Schedule, s.Name)
			out[s.Name] = created
		case err != nil:
			return out, fmt.Errorf("reading trigger CronJob %s: %w", want.Name, err)
		case !metav1.IsControlledBy(have, bc):
			return out, &foreignError{fmt.Sprintf("CronJob %s/%s exists and is not controlled by this BackupConfiguration; delete it or rename the session", bc.Namespace, want.Name)}
		case have.Annotations[jobs.SpecHashAnnotation] != want.Annotations[jobs.SpecHashAnnotation]:
			upd := have.DeepCopy()
			upd.Spec, upd.Labels = want.Spec, want.Labels
			if upd.Annotations == nil {
				upd.Annotations = map[string]string{}
			}
			upd.Annotations[jobs.SpecHashAnnotation] = want.Annotations[jobs.SpecHashAnnotation]
			updated, err := c.kube.BatchV1().CronJobs(bc.Namespace).Update(ctx, upd, updateOpts)
			if err != nil {
				return out, fmt.Errorf("updating trigger CronJob %s: %w", want.Name, err)
			}
			c.recorder.Eventf(bc, "Normal", ReasonSchedulerUpdated, "Updated CronJob %s for session %s", want.Name, s.Name)
			out[s.Name] = updated
		default:
			out[s.Name] = have
		}
	}
	existing, err := c.cronjobs.CronJobs(bc.Namespace).List(labels.SelectorFromSet(labels.Set{controller.LabelConfig: bc.Name}))
	if err != nil {
		return out, err
	}
	for _, cj := range existing {
		if wanted[cj.Name] || !metav1.IsControlledBy(cj, bc) {
			continue
		}
		err := c.kube.BatchV1().CronJobs(bc.Namespace).Delete(ctx, cj.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cj.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			return out, fmt.Errorf("deleting CronJob %s of a removed session: %w", cj.Name, err)
		}
		c.recorder.Eventf(bc, "Normal", ReasonSchedulerRemoved, "Deleted CronJob %s: its session is no longer in the spec", cj.Name)
	}
	return out, nil
}

// removeTriggerRBAC deletes a namespace's trigger ServiceAccount, Role and
// RoleBinding once no BackupConfiguration is left there.
func (c *Controller) removeTriggerRBAC(ctx context.Context, ns string) error {
	if left, err := c.configs.ByIndex(cache.NamespaceIndex, ns); err != nil || len(left) > 0 {
		return err
	}
	if _, err := c.accounts.ServiceAccounts(ns).Get(jobs.TriggerServiceAccount); apierrors.IsNotFound(err) {
		return nil
	}
	name := jobs.TriggerServiceAccount
	for _, del := range []func() error{
		func() error { return c.kube.RbacV1().RoleBindings(ns).Delete(ctx, name, metav1.DeleteOptions{}) },
		func() error { return c.kube.RbacV1().Roles(ns).Delete(ctx, name, metav1.DeleteOptions{}) },
		func() error { return c.kube.CoreV1().ServiceAccounts(ns).Delete(ctx, name, metav1.DeleteOptions{}) },
	} {
		if err := del(); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("removing the trigger RBAC of namespace %s: %w", ns, err)
		}
	}
	return nil
}

// foreignError is a CronJob name taken by an object this config does not
// control: a user must act, retrying does not help.
type foreignError struct{ msg string }

func (e *foreignError) Error() string { return e.msg }
