package jobs

import (
	"sort"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/pkg/names"
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
//
// exports are the components exported from these VolumeSnapshots: the
// runner fails them too when a VolumeSnapshot fails, so their Jobs do not
// wait for a claim that can never be made.
func VolumeSnapshotJob(in BackupJobInput, claims, exports []string) (*batchv1.Job, error) {
	in.Component, in.Storage = Component{Name: in.Component.Name}, nil
	job, err := BackupJob(in)
	if err != nil {
		return nil, err
	}
	c := &job.Spec.Template.Spec.Containers[0]
	c.Args = append(c.Args, "--claims="+strings.Join(claims, ","))
	if len(exports) > 0 {
		c.Args = append(c.Args, "--exports="+strings.Join(exports, ","))
	}
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

// ExportJob builds the Job that backs up, through the engine, the claims
// made from one component's VolumeSnapshots (the volume-snapshot task's
// export): the runner's own `cairn backup` with the export component's
// volumes (whose claims the caller has replaced by ExportClaimName) mounted
// read-only at the application's paths, so the engine snapshot restores
// like a data-mover backup of the target. It is not pinned to the node of
// the application's volume: the exported claims are new volumes.
func ExportJob(in BackupJobInput) (*batchv1.Job, error) {
	in.Task, in.TaskRef = scratchTask(), nil
	in.Function = RunnerFunction("backup", "--namespace=${NAMESPACE}", "--backup-session=${BACKUP_SESSION}", "--paths=${paths}")
	in.Component.NodeName = ""
	return BackupJob(in)
}

// ExportClaimName names the temporary claim of volume of an export Job.
func ExportClaimName(job, volume string) string {
	return names.Join(253, job, volume)
}

// ExportClaim is the temporary claim an export Job reads: made from
// VolumeSnapshot vs of source, with its class and size, owned by the Job
// (so it goes when the Job does) and labelled with the Job's labels.
func ExportClaim(job *batchv1.Job, name string, source *corev1.PersistentVolumeClaim, vs string) *corev1.PersistentVolumeClaim {
	size, ok := source.Status.Capacity[corev1.ResourceStorage]
	if !ok {
		size = source.Spec.Resources.Requests[corev1.ResourceStorage]
	}
	group := "snapshot.storage.k8s.io"
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: job.Namespace, Labels: job.Labels,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID}}},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: source.Spec.StorageClassName,
			VolumeMode:       source.Spec.VolumeMode,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
			DataSourceRef:    &corev1.TypedObjectReference{APIGroup: &group, Kind: "VolumeSnapshot", Name: vs},
		},
	}
}
