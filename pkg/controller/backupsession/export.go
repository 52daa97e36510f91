package backupsession

import (
	"context"
	"fmt"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
	"github.com/cairnbackup/cairn/pkg/names"
)

// ParamExport is the volume-snapshot task's parameter that also backs the
// VolumeSnapshots up through the engine into the session's repositories,
// so the backup survives the loss of the storage system that holds them.
const ParamExport = "export"

// exportJobTTL keeps a finished export Job (and so its temporary claims,
// which it owns) long enough for the session to read how it ended.
const exportJobTTL = int32(15)

// exportPlan is one export component: the data-mover component of the
// target whose claims it backs up (from the VolumeSnapshots of the
// VolumeSnapshot component `from`).
type exportPlan struct {
	from string
	comp jobs.Component
}

// planExports adds, when the task asks for export, one data-mover
// component per VolumeSnapshot component: "dump" (or "dump-pod-<ordinal>"
// per StatefulSet replica), with the target's mount paths, so its engine
// snapshot restores like a logical backup of the target. A DaemonSet's
// pods share their claims: it is exported once, as "dump".
func planExports(p *plan, dataMover []jobs.Component) {
	if !strings.EqualFold(jobs.TaskVars(p.task, p.taskRef, nil)[ParamExport], "true") {
		return
	}
	p.exports = map[string]exportPlan{}
	for _, comp := range dataMover {
		from := jobs.ComponentVolumeSnapshot
		if rest, ok := strings.CutPrefix(comp.Name, "dump-pod-"); ok {
			from += "-pod-" + rest
		} else {
			comp.Name = jobs.ComponentDump
		}
		if _, done := p.exports[comp.Name]; done {
			continue
		}
		p.exports[comp.Name] = exportPlan{from: from, comp: comp}
		p.components = append(p.components, comp)
	}
}

// exportsOf names the export components of VolumeSnapshot component from.
func (p *plan) exportsOf(from string) []string {
	var out []string
	for name, ex := range p.exports {
		if ex.from == from {
			out = append(out, name)
		}
	}
	return out
}

// exportJob creates the export Job of one component for one repository and
// then its temporary claims, one per volume, each made from the volume's
// VolumeSnapshot and owned by the Job (so they go when the Job's TTL
// removes it). The Job's pod waits until the claims are provisioned, which
// the CSI provisioner does once the VolumeSnapshots are ready. A component
// whose claims cannot be snapshotted is failed here, without a Job.
func (c *Controller) exportJob(ctx context.Context, p *plan, in jobs.BackupJobInput, snap *storagev1alpha1.Snapshot) (*batchv1.Job, error) {
	ex := p.exports[in.Component.Name]
	if sc := p.snapshotClaims[ex.from]; sc.err != "" {
		return nil, c.failComponent(ctx, snap, in.Component.Name, "not exported: "+sc.err)
	}
	bs := in.Session
	jobName := names.BackupJob(bs.Name, in.Repository, in.Component.Name)
	comp := ex.comp
	comp.Volumes = append([]jobs.TargetVolume(nil), comp.Volumes...)
	sources := make([]string, len(comp.Volumes))
	for i := range comp.Volumes {
		sources[i] = comp.Volumes[i].ClaimName
		comp.Volumes[i].ClaimName = jobs.ExportClaimName(jobName, comp.Volumes[i].Name)
	}
	in.Component = comp
	job, err := jobs.ExportJob(in)
	if err != nil {
		return nil, fail(ReasonInvalid, "%v", err)
	}
	ttl := exportJobTTL
	job.Spec.TTLSecondsAfterFinished = &ttl
	created, err := c.kube.BatchV1().Jobs(bs.Namespace).Create(ctx, job, createOpts)
	if apierrors.IsAlreadyExists(err) {
		created, err = c.kube.BatchV1().Jobs(bs.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("creating export Job %s: %w", job.Name, err)
	}
	for i, v := range comp.Volumes {
		source, err := c.kube.CoreV1().PersistentVolumeClaims(bs.Namespace).Get(ctx, sources[i], metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, c.failComponent(ctx, snap, in.Component.Name, fmt.Sprintf("not exported: PersistentVolumeClaim %s is gone", sources[i]))
		}
		if err != nil {
			return nil, fmt.Errorf("reading PersistentVolumeClaim %s: %w", sources[i], err)
		}
		claim := jobs.ExportClaim(created, v.ClaimName, source, names.VolumeSnapshot(sources[i], bs.CreationTimestamp.Unix()))
		if _, err := c.kube.CoreV1().PersistentVolumeClaims(bs.Namespace).Create(ctx, claim, createOpts); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("creating export claim %s: %w", claim.Name, err)
		}
	}
	return job, nil // as built: the caller's create finds it exists
}
