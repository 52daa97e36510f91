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
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/controller/internal/workloop"
	"github.com/cairnbackup/cairn/pkg/schedule"
)

// buildStatus computes the status a sync found. Conditions keep their
// lastTransitionTime while their status does not change, so an unchanged
// state gives an identical status and no write.
func buildStatus(bc *corev1alpha1.BackupConfiguration, r *report, pinned *corev1alpha1.ResolvedBackend,
	scheds map[string]*schedule.Schedule, cronjobs map[string]*batchv1.CronJob, lastSuccess map[string]*metav1.Time, now time.Time) corev1alpha1.BackupConfigurationStatus {
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
		ss := corev1alpha1.SessionStatus{Name: s.Name, LastSuccessfulBackupTime: lastSuccess[s.Name]}
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

// lastSuccessful is, per session of bc, when its newest Succeeded
// Snapshot was taken (Snapshots carry the config and session labels).
func (c *Controller) lastSuccessful(bc *corev1alpha1.BackupConfiguration) map[string]*metav1.Time {
	snaps, _ := c.snapshots.Snapshots(bc.Namespace).List(labels.SelectorFromSet(labels.Set{controller.LabelConfig: bc.Name}))
	bySession := map[string][]*storagev1alpha1.Snapshot{}
	for _, s := range snaps {
		bySession[s.Labels[controller.LabelSession]] = append(bySession[s.Labels[controller.LabelSession]], s)
	}
	out := map[string]*metav1.Time{}
	for session, ss := range bySession {
		if s := storagev1alpha1.NewestSucceeded(ss); s != nil {
			t := metav1.NewTime(s.TakenAt())
			out[session] = &t
		}
	}
	return out
}

// snapshotChanged wakes the config of a Snapshot that came, went, or
// changed phase (not for the runners' progress patches).
func (c *Controller) snapshotChanged(oldObj, newObj any) {
	o, ok1 := oldObj.(*storagev1alpha1.Snapshot)
	n, ok2 := newObj.(*storagev1alpha1.Snapshot)
	if ok1 && ok2 && o.Status.Phase == n.Status.Phase && (o.DeletionTimestamp == nil) == (n.DeletionTimestamp == nil) {
		return
	}
	c.wakeSnapshotConfig(newObj)
}

func (c *Controller) wakeSnapshotConfig(obj any) {
	m, err := workloop.MetaOf(obj)
	if err != nil {
		return
	}
	if name := m.GetLabels()[controller.LabelConfig]; name != "" {
		c.loop.EnqueueName(m.GetNamespace(), name)
	}
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
	out, err := c.cairn.CoreV1alpha1().BackupConfigurations(bc.Namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{FieldManager: controller.FieldManager})
	if err == nil {
		c.writes.Wrote(cache.MetaObjectToName(bc), out.ResourceVersion)
	}
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		// A newer version is on its way through the informer; it is synced next.
		return nil
	}
	if err != nil {
		return fmt.Errorf("writing status: %w", err)
	}
	return nil
}
