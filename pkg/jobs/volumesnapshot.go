package jobs

import (
	"sort"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
)

// ComponentVolumeSnapshot is the component of a VolumeSnapshot backup of a
// Deployment, DaemonSet or stand-alone PVC: every claim in one Job.
const ComponentVolumeSnapshot = "volumesnapshot"

// VolumeSnapshotComponents turns a target's data-mover components into
// those of a VolumeSnapshot backup: a StatefulSet replica's "dump-pod-N"
// becomes "volumesnapshot-pod-N" with its own claims; everything else is
// one "volumesnapshot" component holding each claim once (a DaemonSet's
// pods share their template's claims). The components carry no node or
// pod security: the Job mounts nothing, it only talks to the API.
func VolumeSnapshotComponents(comps []Component) []Component {
	var out []Component
	var shared *Component
	seen := map[string]bool{}
	for _, c := range comps {
		if rest, ok := strings.CutPrefix(c.Name, "dump-pod-"); ok {
			out = append(out, Component{Name: ComponentVolumeSnapshot + "-pod-" + rest, Volumes: c.Volumes})
			continue
		}
		if shared == nil {
			out = append(out, Component{Name: ComponentVolumeSnapshot})
			shared = &out[len(out)-1]
		}
		for _, v := range c.Volumes {
			if !seen[v.ClaimName] {
				seen[v.ClaimName] = true
				shared.Volumes = append(shared.Volumes, v)
			}
		}
	}
	return out
}

// Claims are the names of a component's claims, sorted, each once.
func (c Component) Claims() []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range c.Volumes {
		if !seen[v.ClaimName] {
			seen[v.ClaimName] = true
			out = append(out, v.ClaimName)
		}
	}
	sort.Strings(out)
	return out
}

// VolumeSnapshotJob builds the volume-snapshotter Job of one component: the
// task's Function (cairn volume-snapshot) with its placeholders filled and
// the claims to snapshot as PVC:CLASS pairs. Unlike a data-mover Job it
// mounts none of the target's volumes (nor a local storage) and is pinned
// to no node: it only creates VolumeSnapshots through the API and waits.
func VolumeSnapshotJob(in BackupJobInput, claims []string) (*batchv1.Job, error) {
	in.Component, in.Storage = Component{Name: in.Component.Name}, nil
	job, err := BackupJob(in)
	if err != nil {
		return nil, err
	}
	c := &job.Spec.Template.Spec.Containers[0]
	c.Args = append(c.Args, "--claims="+strings.Join(claims, ","))
	return job, nil
}

// VolumeSnapshotRestoreJob builds the Job that creates one component's
// claims from its VolumeSnapshots (cairn volume-snapshot-restore); waitBound
// are the claims whose class binds at once. It mounts nothing.
func VolumeSnapshotRestoreJob(in RestoreJobInput, waitBound []string) (*batchv1.Job, error) {
	in.Component, in.Storage = Component{Name: in.Component.Name}, nil
	job, err := RestoreJob(in)
	if err != nil {
		return nil, err
	}
	c := &job.Spec.Template.Spec.Containers[0]
	c.Args = append(c.Args, "--wait-bound="+strings.Join(waitBound, ","))
	return job, nil
}
