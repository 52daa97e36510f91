package backupsession

import (
	"context"
	"errors"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"

	addonsv1alpha1 "github.com/cairnbackup/cairn/pkg/apis/addons/v1alpha1"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/names"
	"github.com/cairnbackup/cairn/pkg/volumesnapshot"
)

// ParamVolumeSnapshotClass is the volume-snapshot task's parameter that
// names the VolumeSnapshotClass; empty: the default class of each claim's
// CSI driver.
const ParamVolumeSnapshotClass = "volumeSnapshotClassName"

// volumeSnapshots reports a session whose task takes CSI VolumeSnapshots
// instead of moving data through the engine.
func (p *plan) volumeSnapshots() bool {
	return p.task != nil && p.task.Driver == addonsv1alpha1.DriverVolumeSnapshotter
}

// snapshotClaims is what the volume-snapshotter Job of one component gets:
// its claims as PVC:CLASS, or why they cannot be snapshotted.
type snapshotClaims struct {
	claims []string
	err    string
}

// prepareVolumeSnapshots turns the target's components into VolumeSnapshot
// components and resolves the VolumeSnapshotClass of every claim once (the
// task's volumeSnapshotClassName, else the default of the claim's driver).
// A claim that cannot be snapshotted fails its component, not the call;
// the error returned is the API's, worth a retry.
func (c *Controller) prepareVolumeSnapshots(ctx context.Context, bs *corev1alpha1.BackupSession, p *plan) error {
	if !p.volumeSnapshots() {
		return nil
	}
	dataMover := p.components
	p.components = jobs.VolumeSnapshotComponents(dataMover)
	defer planExports(p, dataMover)
	p.snapshotClaims = map[string]snapshotClaims{}
	requested := jobs.TaskVars(p.task, p.taskRef, nil)[ParamVolumeSnapshotClass]
	for _, comp := range p.components {
		if c.volumeSnapshots == nil {
			p.snapshotClaims[comp.Name] = snapshotClaims{err: "the operator has no VolumeSnapshot client (it was started without an API connection)"}
			continue
		}
		resolved, err := volumesnapshot.Resolve(ctx, c.kube, c.volumeSnapshots, bs.Namespace, comp.Claims(), requested)
		var cerr *volumesnapshot.ClaimError
		if errors.As(err, &cerr) {
			p.snapshotClaims[comp.Name] = snapshotClaims{err: cerr.Error()}
			continue
		}
		if err != nil {
			return err
		}
		sc := snapshotClaims{}
		for _, r := range resolved {
			sc.claims = append(sc.claims, r.PVC+":"+r.Class)
		}
		p.snapshotClaims[comp.Name] = sc
	}
	return nil
}

// backupJob builds one component's Job for one repository: a data-mover
// Job, or a volume-snapshotter Job. For a component whose claims cannot be
// snapshotted it records the failure in the Snapshot and returns no Job.
// A spec that cannot make a Job is a *planError.
func (c *Controller) backupJob(ctx context.Context, p *plan, in jobs.BackupJobInput, snap *storagev1alpha1.Snapshot) (*batchv1.Job, error) {
	var job *batchv1.Job
	var err error
	if _, ok := p.exports[in.Component.Name]; ok {
		return c.exportJob(ctx, p, in, snap)
	}
	if p.volumeSnapshots() {
		sc := p.snapshotClaims[in.Component.Name]
		if sc.err != "" {
			return nil, c.failComponent(ctx, snap, in.Component.Name, sc.err)
		}
		job, err = jobs.VolumeSnapshotJob(in, sc.claims, p.exportsOf(in.Component.Name))
	} else {
		job, err = jobs.BackupJob(in)
	}
	if err != nil {
		return nil, fail(ReasonInvalid, "%v", err)
	}
	return job, nil
}

// volumeSnapshotAccess lets the session's runner create the VolumeSnapshots
// of its claims and read exactly those (and the claims, for their size).
func volumeSnapshotAccess(a jobs.Access, bs *corev1alpha1.BackupSession, p *plan) {
	if !p.volumeSnapshots() {
		return
	}
	a.CreateVolumeSnapshots(bs.Namespace)
	for _, comp := range p.components {
		for _, claim := range comp.Claims() {
			a.VolumeSnapshot(bs.Namespace, names.VolumeSnapshot(claim, bs.CreationTimestamp.Unix()))
			a.Claim(bs.Namespace, claim)
		}
	}
}

// VolumeSnapshotsOf names the VolumeSnapshots a Snapshot records.
func VolumeSnapshotsOf(s *storagev1alpha1.Snapshot) []string {
	var out []string
	for _, comp := range s.Status.Components {
		for _, st := range comp.VolumeSnapshotterStats {
			if st.VolumeSnapshotName != "" {
				out = append(out, st.VolumeSnapshotName)
			}
		}
	}
	return out
}

// deleteVolumeSnapshots deletes the VolumeSnapshots of a Snapshot that
// retention drops, except those another Snapshot of the same session (a
// second repository's) still records and keeps. Read from the API, not the
// cache: a stale cache would keep a VolumeSnapshot nobody references.
func (c *Controller) deleteVolumeSnapshots(ctx context.Context, s *storagev1alpha1.Snapshot) error {
	vss := VolumeSnapshotsOf(s)
	if len(vss) == 0 {
		return nil
	}
	if c.volumeSnapshots == nil {
		return fmt.Errorf("Snapshot %s records VolumeSnapshots but the operator has no VolumeSnapshot client", s.Name)
	}
	keep := map[string]bool{}
	if s.Spec.BackupSession != "" {
		others, err := c.cairn.StorageV1alpha1().Snapshots(s.Namespace).List(ctx, metav1.ListOptions{
			LabelSelector: k8slabels.SelectorFromSet(k8slabels.Set{jobs.LabelBackupSession: s.Spec.BackupSession}).String()})
		if err != nil {
			return fmt.Errorf("listing the Snapshots of BackupSession %s: %w", s.Spec.BackupSession, err)
		}
		for i := range others.Items {
			if o := &others.Items[i]; o.Name != s.Name && o.DeletionTimestamp == nil {
				for _, n := range VolumeSnapshotsOf(o) {
					keep[n] = true
				}
			}
		}
	}
	for _, name := range vss {
		if keep[name] {
			continue
		}
		err := c.volumeSnapshots.SnapshotV1().VolumeSnapshots(s.Namespace).Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting VolumeSnapshot %s of Snapshot %s dropped by retention: %w", name, s.Name, err)
		}
	}
	return nil
}
