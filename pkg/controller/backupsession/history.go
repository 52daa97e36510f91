package backupsession

import (
	"context"
	"fmt"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
)

// trimHistory keeps the newest sessionHistoryLimit finished sessions of a
// config's session and deletes the older ones (their Jobs and pods go with
// them; Snapshots belong to the Repository and stay). The config's sessions
// of other names and those still running are never touched.
func (c *Controller) trimHistory(ctx context.Context, bs *corev1alpha1.BackupSession) error {
	bc, err := c.configs.BackupConfigurations(bs.Namespace).Get(bs.Spec.Invoker.Name)
	if err != nil {
		return nil // no config, no limit: keep everything
	}
	limit := int32(1)
	for _, s := range bc.Spec.Sessions {
		if s.Name == bs.Spec.Session && s.SessionHistoryLimit > 0 {
			limit = s.SessionHistoryLimit
		}
	}
	objs, _ := c.sessionIndex.ByIndex(byConfigSession, bs.Namespace+"/"+bs.Spec.Invoker.Name+"/"+bs.Spec.Session)
	var finished []*corev1alpha1.BackupSession
	for _, o := range objs {
		if s := o.(*corev1alpha1.BackupSession); s.Status.Phase.IsFinished() && s.DeletionTimestamp == nil {
			finished = append(finished, s)
		}
	}
	if int32(len(finished)) <= limit {
		return nil
	}
	sort.Slice(finished, func(i, j int) bool {
		ti, tj := finished[i].CreationTimestamp, finished[j].CreationTimestamp
		if ti.Equal(&tj) {
			return finished[i].Name > finished[j].Name
		}
		return tj.Before(&ti)
	})
	bg := metav1.DeletePropagationBackground
	for _, old := range finished[limit:] {
		err := c.cairn.CoreV1alpha1().BackupSessions(old.Namespace).Delete(ctx, old.Name, metav1.DeleteOptions{
			PropagationPolicy: &bg, Preconditions: &metav1.Preconditions{UID: &old.UID}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("deleting BackupSession %s beyond sessionHistoryLimit %d: %w", old.Name, limit, err)
		}
	}
	return nil
}
