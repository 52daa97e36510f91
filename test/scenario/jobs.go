// Package scenario holds the end-to-end stories that both the integration
// tests and `make demo` run on the local cluster, so the demo shows exactly
// what the tests prove. Each step returns an error that says what a person
// would look at next.
package scenario

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/cairnbackup/cairn/test/cluster"
)

// CairnImage is the cairn binary alone in an image, as Cairn's backup and
// restore Jobs run it.
const CairnImage = "cairn.local/cairn:test"

// NonRootUser is the user Cairn's data mover runs as.
const NonRootUser = int64(65532)

// BuildCairnImage compiles cmd/cairn into dir and imports it into the node
// as CairnImage.
func BuildCairnImage(ctx context.Context, c *cluster.Cluster, dir string) error {
	root, err := cluster.RepoRoot()
	if err != nil {
		return err
	}
	bin := filepath.Join(dir, "cairn")
	if err := cluster.GoBuild(ctx, root, "./cmd/cairn", bin); err != nil {
		return err
	}
	img := cluster.Image{Tag: CairnImage, Files: map[string]string{bin: "/usr/local/bin/cairn"}, Entrypoint: []string{"/usr/local/bin/cairn"}}
	return c.BuildAndImport(ctx, img)
}

// NewClaim claims a ReadWriteOnce volume of the given size from the default
// StorageClass (dynamic provisioning).
func NewClaim(ctx context.Context, c *cluster.Cluster, ns, name, size string) error {
	sc, err := c.DefaultStorageClass(ctx)
	if err != nil {
		return err
	}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: &sc,
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
		},
	}
	if _, err := c.Client().CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create PVC %s/%s: %w", ns, name, err)
	}
	return nil
}

// RunJob creates a Job with the pod spec and waits for it to succeed.
func RunJob(ctx context.Context, c *cluster.Cluster, ns, name string, spec corev1.PodSpec) error {
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			BackoffLimit:          ptr.To[int32](0),
			ActiveDeadlineSeconds: ptr.To[int64](180),
			Template:              corev1.PodTemplateSpec{Spec: spec},
		},
	}
	if _, err := c.Client().BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create Job %s/%s: %w", ns, name, err)
	}
	return c.WaitJob(ctx, ns, name, 3*time.Minute)
}

// PodSpec is a run-once pod with the containers and volumes given, no
// service-account token, and a scratch /tmp volume (the cairn containers'
// root file system is read-only).
func PodSpec(init, containers []corev1.Container, volumes ...corev1.Volume) corev1.PodSpec {
	return corev1.PodSpec{
		RestartPolicy:                corev1.RestartPolicyNever,
		AutomountServiceAccountToken: ptr.To(false),
		InitContainers:               init,
		Containers:                   containers,
		Volumes:                      append(volumes, corev1.Volume{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}),
	}
}

// CairnContainer runs the cairn CLI as a non-root user with no privileges
// and a read-only root file system, the repository and its credentials taken
// from the Secret.
func CairnContainer(name, secret string, args []string, mounts ...corev1.VolumeMount) corev1.Container {
	return corev1.Container{
		Name:            name,
		Image:           CairnImage,
		ImagePullPolicy: corev1.PullNever,
		Args:            args,
		EnvFrom:         []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: secret}}}},
		Env:             []corev1.EnvVar{{Name: "HOME", Value: "/tmp"}},
		VolumeMounts:    append(mounts, Mount("tmp", "/tmp")),
		SecurityContext: &corev1.SecurityContext{
			RunAsUser:                ptr.To(NonRootUser),
			RunAsGroup:               ptr.To(NonRootUser),
			RunAsNonRoot:             ptr.To(true),
			AllowPrivilegeEscalation: ptr.To(false),
			ReadOnlyRootFilesystem:   ptr.To(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
	}
}

// Shell runs a busybox script as root, to prepare and inspect volumes.
func Shell(name, script string, mounts ...corev1.VolumeMount) corev1.Container {
	return corev1.Container{
		Name:            name,
		Image:           cluster.BusyboxImage,
		ImagePullPolicy: corev1.PullNever,
		Command:         []string{"/bin/sh", "-c", script},
		VolumeMounts:    mounts,
	}
}

// Mount mounts volume name at path.
func Mount(name, path string) corev1.VolumeMount {
	return corev1.VolumeMount{Name: name, MountPath: path}
}

// ClaimVolume is a pod volume backed by a PVC.
func ClaimVolume(name, claim string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}
}
