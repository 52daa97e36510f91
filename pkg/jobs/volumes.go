package jobs

import (
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// PVCMountPath is where a stand-alone PVC target is mounted in its Jobs
// (the pvc-addon's `paths` default to it).
const PVCMountPath = "/cairn-data"

// TargetVolume is one PersistentVolumeClaim of a target and where the
// application mounts it, so the Job mounts it at the same paths and a
// task's `paths` are the paths the application sees.
type TargetVolume struct {
	// Name is the volume's name in the Job.
	Name string
	// ClaimName is the PVC.
	ClaimName string
	// Mounts are the application's mounts of the volume (mountPath and
	// subPath); the Job mounts each read-only for a backup.
	Mounts []corev1.VolumeMount
}

// Component is one Job's share of a target: all volumes of a Deployment or
// a PVC ("dump"), one replica of a StatefulSet ("dump-pod-<ordinal>"), one
// node of a DaemonSet ("dump-<node>").
type Component struct {
	Name    string
	Volumes []TargetVolume
	// NodeName pins the Job to the node where a ReadWriteOnce volume is
	// attached; empty lets the scheduler choose.
	NodeName string
	// PodSecurity is the target pod's security context, so the runner can
	// read what the application wrote (nil: the target sets none).
	PodSecurity *corev1.PodSecurityContext
}

// ComponentDump is the component of a target backed up by one Job.
const ComponentDump = "dump"

// StatefulSetComponent names the component of replica ordinal.
func StatefulSetComponent(ordinal int32) string { return "dump-pod-" + strconv.Itoa(int(ordinal)) }

// DaemonSetComponent names the component of the pod on node.
func DaemonSetComponent(node string) string { return "dump-" + node }

// PodVolumes returns the PVC volumes of a pod template and where its
// containers mount them. claim maps a volume to its claim name, or ""
// for a volume that is not a PVC (skipped).
func PodVolumes(spec *corev1.PodSpec, claim func(v corev1.Volume) string) []TargetVolume {
	mounts := map[string][]corev1.VolumeMount{}
	seen := map[string]bool{}
	for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
		for _, m := range c.VolumeMounts {
			key := m.Name + "\x00" + m.MountPath + "\x00" + m.SubPath
			if seen[key] {
				continue
			}
			seen[key] = true
			mounts[m.Name] = append(mounts[m.Name], corev1.VolumeMount{Name: m.Name, MountPath: m.MountPath, SubPath: m.SubPath, ReadOnly: true})
		}
	}
	var out []TargetVolume
	for _, v := range spec.Volumes {
		name := claim(v)
		if name == "" || len(mounts[v.Name]) == 0 {
			continue
		}
		out = append(out, TargetVolume{Name: v.Name, ClaimName: name, Mounts: mounts[v.Name]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ClaimOf is the claim of a persistentVolumeClaim volume.
func ClaimOf(v corev1.Volume) string {
	if v.PersistentVolumeClaim != nil {
		return v.PersistentVolumeClaim.ClaimName
	}
	return ""
}

// StatefulSetVolumes returns replica ordinal's volumes: the template's PVC
// volumes and its volumeClaimTemplates' claims (<template>-<set>-<ordinal>).
func StatefulSetVolumes(sts *appsv1.StatefulSet, ordinal int32) []TargetVolume {
	spec := sts.Spec.Template.Spec.DeepCopy()
	claims := map[string]string{}
	for _, t := range sts.Spec.VolumeClaimTemplates {
		claims[t.Name] = t.Name + "-" + sts.Name + "-" + strconv.Itoa(int(ordinal))
		present := false
		for _, v := range spec.Volumes {
			present = present || v.Name == t.Name
		}
		if !present {
			spec.Volumes = append(spec.Volumes, corev1.Volume{Name: t.Name})
		}
	}
	return PodVolumes(spec, func(v corev1.Volume) string {
		if c, ok := claims[v.Name]; ok {
			return c
		}
		return ClaimOf(v)
	})
}

// PVCVolumes is the one volume of a stand-alone PVC target, at PVCMountPath.
func PVCVolumes(claim string) []TargetVolume {
	return []TargetVolume{{Name: "target", ClaimName: claim,
		Mounts: []corev1.VolumeMount{{Name: "target", MountPath: PVCMountPath, ReadOnly: true}}}}
}
