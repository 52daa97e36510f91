package backupconfiguration

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/schedule"
)

// buildStatus computes the status a sync found. Conditions keep their
// lastTransitionTime while their status does not change, so an unchanged
// state gives an identical status and no write.
func buildStatus(bc *corev1alpha1.BackupConfiguration, r *report, pinned *corev1alpha1.ResolvedBackend,
	scheds map[string]*schedule.Schedule, cronjobs map[string]*batchv1.CronJob, now time.Time) corev1alpha1.BackupConfigurationStatus {
	st := corev1alpha1.BackupConfigurationStatus{
		Phase:              r.phase(),
		ObservedGeneration: bc.Generation,
		DefaultBackend:     pinned,
	}
	found := !r.failed(corev1alpha1.ConditionTargetFound)
	st.TargetFound = &found
	conds := make([]metav1.Condition, 0, len(r.order))
	for _, c := range r.conditions(bc.Generation) {
		if old := meta.FindStatusCondition(bc.Status.Conditions, c.Type); old != nil && old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		} else {
			c.LastTransitionTime = metav1.NewTime(now.Truncate(time.Second))
		}
		conds = append(conds, c)
	}
	st.Conditions = conds
	for _, s := range bc.Spec.Sessions {
		ss := corev1alpha1.SessionStatus{Name: s.Name}
		if old := findSession(bc.Status.Sessions, s.Name); old != nil {
			ss.LastSchedule = old.LastSchedule
		}
		if cj := cronjobs[s.Name]; cj != nil && cj.Status.LastScheduleTime != nil {
			ss.LastSchedule = cj.Status.LastScheduleTime
		}
		suspended := bc.Spec.Paused || s.Scheduler.Suspend
		if sched := scheds[s.Name]; sched != nil && !suspended {
			next := metav1.NewTime(sched.Next(now))
			ss.NextSchedule = &next
			if st.NextSchedule == nil || next.Before(st.NextSchedule) {
				st.NextSchedule = ss.NextSchedule.DeepCopy()
			}
		}
		st.Sessions = append(st.Sessions, ss)
	}
	return st
}

func findSession(ss []corev1alpha1.SessionStatus, name string) *corev1alpha1.SessionStatus {
	for i := range ss {
		if ss[i].Name == name {
			return &ss[i]
		}
	}
	return nil
}

// writeStatus writes st when it differs from what the object holds.
func (c *Controller) writeStatus(ctx context.Context, bc *corev1alpha1.BackupConfiguration, st corev1alpha1.BackupConfigurationStatus) error {
	if apiequality.Semantic.DeepEqual(bc.Status, st) {
		return nil
	}
	upd := bc.DeepCopy()
	upd.Status = st
	_, err := c.cairn.CoreV1alpha1().BackupConfigurations(bc.Namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{FieldManager: controller.FieldManager})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		// A newer version is on its way through the informer; it is synced next.
		return nil
	}
	if err != nil {
		return fmt.Errorf("writing status: %w", err)
	}
	return nil
}
