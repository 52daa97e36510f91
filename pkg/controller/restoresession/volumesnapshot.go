package restoresession

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	addonsv1alpha1 "github.com/cairnbackup/cairn/pkg/apis/addons/v1alpha1"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/controller/internal/workloop"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/volumeclaims"
	"github.com/cairnbackup/cairn/pkg/volumesnapshot"
)

// startVolumeSnapshotRestore starts a restore whose task restores CSI
// VolumeSnapshots (volume-snapshot-restore): it renders the claims of every
// component from the session's volumeClaimTemplates (so a template that
// cannot work fails the session before any Job runs), decides which ones
// to wait for (their class binds at once), gives the runner access to
// exactly those claims and VolumeSnapshots, and creates one Job per
// component. handled is false for any other task.
func (c *Controller) startVolumeSnapshotRestore(ctx context.Context, rs *corev1alpha1.RestoreSession, st *corev1alpha1.RestoreSessionStatus, src *source) (handled bool, res workloop.Result, err error) {
	task, ref, fn, _, _ := c.restoreTask(rs)
	if task == nil || task.Driver != addonsv1alpha1.DriverVolumeSnapshotter {
		return false, workloop.Result{}, nil
	}
	fail := func(reason, format string, a ...any) (bool, workloop.Result, error) {
		c.setCondition(rs, st, corev1alpha1.ConditionRestoreJobsCreated, false, reason, fmt.Sprintf(format, a...))
		return true, workloop.Done(), nil
	}
	templates := volumesnapshot.Templates(rs)
	if len(templates) == 0 {
		return fail(ReasonInvalid, "task %s creates claims from VolumeSnapshots: give it targetVolumes.volumeClaimTemplates (names may use ${POD_ORDINAL})", task.Name)
	}
	access := jobs.Access{}
	access.RestoreSession(rs.Namespace, rs.Name)
	access.SnapshotRead(src.snapshot.Namespace, src.snapshot.Name)
	access.CreateClaims(rs.Namespace)
	waitBound := map[string][]string{}
	owner := map[string]string{}
	var chosen []string
	for _, name := range src.components {
		comp := src.snapshot.Status.Components[name]
		if len(comp.VolumeSnapshotterStats) == 0 {
			if len(rs.Spec.DataSource.Components) == 0 {
				continue // an export's engine copy: a logical restore's to restore
			}
			return fail(ReasonComponentMissing, "component %s of Snapshot %s holds no VolumeSnapshots (it was not taken by the volume-snapshot task; restore it with the logical-backup-restore task)", name, src.snapshot.Name)
		}
		chosen = append(chosen, name)
		claims, err := volumesnapshot.Claims(rs.Namespace, templates, name, comp)
		if err != nil {
			return fail(ReasonInvalid, "component %s: %v", name, err)
		}
		for _, claim := range claims {
			if other, ok := owner[claim.Name]; ok {
				return fail(ReasonInvalid, "claim %s would be restored for both components %s and %s: use ${POD_ORDINAL} in the template's name, or restore one component (dataSource.components)", claim.Name, other, name)
			}
			owner[claim.Name] = name
			class, err := volumeclaims.Class(ctx, c.kube.StorageV1().StorageClasses(), claim)
			var nc *volumeclaims.NoClassError
			if errors.As(err, &nc) {
				return fail(ReasonInvalid, "%v", err)
			}
			if err != nil {
				return true, workloop.Done(), err
			}
			if volumeclaims.BindsImmediately(class) {
				waitBound[name] = append(waitBound[name], claim.Name)
			}
			access.Claim(rs.Namespace, claim.Name)
			access.VolumeSnapshot(rs.Namespace, claim.Spec.DataSourceRef.Name)
		}
	}
	account, roles, bindings := jobs.RunnerRBAC(rs, "RestoreSession", "restore", access)
	sa, err := c.rbac.Ensure(ctx, account, roles, bindings)
	if err != nil {
		return true, workloop.Done(), err
	}
	if t := rs.Spec.RestoreTimeout; t != nil && st.Deadline == nil {
		d := metav1.NewTime(rs.CreationTimestamp.Add(t.Duration))
		st.Deadline = &d
	}
	var deadline *int64
	if st.Deadline != nil {
		secs := int64(time.Until(st.Deadline.Time).Seconds())
		deadline = &secs
	}
	if len(chosen) == 0 {
		return fail(ReasonComponentMissing, "Snapshot %s holds no VolumeSnapshots to restore", src.snapshot.Name)
	}
	for _, name := range chosen {
		job, err := jobs.VolumeSnapshotRestoreJob(jobs.RestoreJobInput{Session: rs, Task: task, TaskRef: ref, Function: fn, Component: jobs.Component{Name: name},
			Snapshot: src.snapshot.Name, Image: c.image, ServiceAccount: sa, DeadlineSeconds: deadline}, waitBound[name])
		if err != nil {
			return fail(ReasonInvalid, "%v", err)
		}
		if _, err := c.kube.BatchV1().Jobs(rs.Namespace).Create(ctx, job, metav1.CreateOptions{FieldManager: controller.FieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
			return true, workloop.Done(), fmt.Errorf("creating restore Job %s: %w", job.Name, err)
		}
	}
	claimNames := make([]string, 0, len(owner))
	for n := range owner {
		claimNames = append(claimNames, n)
	}
	sort.Strings(claimNames)
	st.TotalComponents = int32(len(chosen))
	c.setCondition(rs, st, corev1alpha1.ConditionRestoreJobsCreated, true, ReasonJobsCreated, fmt.Sprintf("%d restore Job(s) created", len(chosen)))
	c.recorder.Eventf(rs, "Normal", ReasonJobsCreated, "Restoring %d component(s) of Snapshot %s from VolumeSnapshots into claims %s", len(chosen), src.snapshot.Name, strings.Join(claimNames, ", "))
	return true, c.requeueForDeadline(st), nil
}
