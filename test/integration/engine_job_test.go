//go:build integration

package integration

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/cairnbackup/cairn/test/cluster"
	"github.com/cairnbackup/cairn/test/objstore"
)

// cairnImage is the cairn binary alone in an image, run as a non-root user,
// as Cairn's backup and restore Jobs run it.
const cairnImage = "cairn.local/cairn:test"

// nonRoot is the user Cairn's data mover runs as.
const nonRoot = int64(65532)

// TestEngineBackupRestoreInCluster runs the data engine where it will run in
// production: in Jobs on a real node, reading and writing dynamically
// provisioned volumes, talking to MinIO over the pod network. A seed Job
// writes a tree (text, random data, a duplicate, a symlink) into a PVC; a
// non-root backup Job initialises an encrypted repository in MinIO and backs
// the PVC up; a restore Job restores the latest snapshot into a fresh PVC
// and a last container compares both trees byte for byte.
func TestEngineBackupRestoreInCluster(t *testing.T) {
	c := cluster.Shared(t)
	ns := c.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	k := c.Client()

	buildCairnImage(ctx, t, c)
	minio, err := objstore.StartMinIO(ctx, cluster.BridgeIP()+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = minio.Stop() })
	const bucket = "engine"
	if err := minio.CreateBucket(ctx, bucket); err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "repo-access"},
		StringData: map[string]string{
			"AWS_ACCESS_KEY_ID":     minio.AccessKey,
			"AWS_SECRET_ACCESS_KEY": minio.SecretKey,
			"CAIRN_PASSWORD":        randomHex(t, 16),
			"CAIRN_REPOSITORY":      "s3://" + bucket + "/" + ns + "?endpoint=" + minio.Endpoint + "&region=" + minio.Region + "&use_path_style=true",
		},
	}
	if _, err := k.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	source := newClaim(ctx, t, c, ns, "source", "64Mi")
	restored := newClaim(ctx, t, c, ns, "restored", "64Mi")

	seed := `set -e
mkdir -p /data/app/logs /data/app/empty
seq 1 50000 > /data/app/logs/numbers.txt
head -c 6000000 /dev/urandom > /data/app/blob.bin
cp /data/app/blob.bin /data/app/blob-copy.bin
ln -s logs/numbers.txt /data/app/current
chmod -R a+rX /data`
	runJob(ctx, t, c, ns, "seed", podSpec(
		nil,
		[]corev1.Container{shell("seed", seed, mount("data", "/data"))},
		volume("data", source)))

	runJob(ctx, t, c, ns, "backup", podSpec(
		[]corev1.Container{cairnContainer("init", secret.Name, []string{"repo", "init"})},
		[]corev1.Container{cairnContainer("backup", secret.Name, []string{"repo", "backup", "--host", "cairn-test", "/data"}, mount("data", "/data"))},
		volume("data", source)))

	compare := `set -e
diff -r /data /restored/data
[ "$(readlink /restored/data/app/current)" = logs/numbers.txt ]
echo restored tree identical`
	runJob(ctx, t, c, ns, "restore", podSpec(
		[]corev1.Container{cairnContainer("restore", secret.Name, []string{"repo", "restore", "--target", "/restored", "latest"}, mount("restored", "/restored"))},
		[]corev1.Container{shell("compare", compare, mount("data", "/data"), mount("restored", "/restored"))},
		volume("data", source), volume("restored", restored)))
}

// buildCairnImage compiles cmd/cairn and imports it into the node.
func buildCairnImage(ctx context.Context, t *testing.T, c *cluster.Cluster) {
	t.Helper()
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "cairn")
	if err := cluster.GoBuild(ctx, root, "./cmd/cairn", bin); err != nil {
		t.Fatal(err)
	}
	img := cluster.Image{Tag: cairnImage, Files: map[string]string{bin: "/usr/local/bin/cairn"}, Entrypoint: []string{"/usr/local/bin/cairn"}}
	if err := c.BuildAndImport(ctx, img); err != nil {
		t.Fatal(err)
	}
}

// newClaim claims a volume of the given size from the default StorageClass.
func newClaim(ctx context.Context, t *testing.T, c *cluster.Cluster, ns, name, size string) string {
	t.Helper()
	sc, err := c.DefaultStorageClass(ctx)
	if err != nil {
		t.Fatal(err)
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
		t.Fatal(err)
	}
	return name
}

// runJob creates a Job with the pod spec and waits for it to succeed.
func runJob(ctx context.Context, t *testing.T, c *cluster.Cluster, ns, name string, spec corev1.PodSpec) {
	t.Helper()
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			BackoffLimit:          ptr.To[int32](0),
			ActiveDeadlineSeconds: ptr.To[int64](180),
			Template:              corev1.PodTemplateSpec{Spec: spec},
		},
	}
	if _, err := c.Client().BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitJob(ctx, ns, name, 3*time.Minute); err != nil {
		t.Fatal(err)
	}
}

func podSpec(init, containers []corev1.Container, volumes ...corev1.Volume) corev1.PodSpec {
	return corev1.PodSpec{
		RestartPolicy:                corev1.RestartPolicyNever,
		AutomountServiceAccountToken: ptr.To(false),
		InitContainers:               init,
		Containers:                   containers,
		// Every pod gets a scratch /tmp: the cairn containers' root file system is read-only.
		Volumes: append(volumes, corev1.Volume{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}),
	}
}

// cairnContainer runs the cairn CLI as a non-root user with no privileges,
// the repository and its credentials taken from the Secret.
func cairnContainer(name, secret string, args []string, mounts ...corev1.VolumeMount) corev1.Container {
	return corev1.Container{
		Name:            name,
		Image:           cairnImage,
		ImagePullPolicy: corev1.PullNever,
		Args:            args,
		EnvFrom:         []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: secret}}}},
		Env:             []corev1.EnvVar{{Name: "HOME", Value: "/tmp"}},
		VolumeMounts:    append(mounts, mount("tmp", "/tmp")),
		SecurityContext: &corev1.SecurityContext{
			RunAsUser:                ptr.To(nonRoot),
			RunAsGroup:               ptr.To(nonRoot),
			RunAsNonRoot:             ptr.To(true),
			AllowPrivilegeEscalation: ptr.To(false),
			ReadOnlyRootFilesystem:   ptr.To(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
	}
}

// shell runs a busybox script (as root, to prepare and inspect volumes).
func shell(name, script string, mounts ...corev1.VolumeMount) corev1.Container {
	return corev1.Container{
		Name:            name,
		Image:           cluster.BusyboxImage,
		ImagePullPolicy: corev1.PullNever,
		Command:         []string{"/bin/sh", "-c", script},
		VolumeMounts:    mounts,
	}
}

func mount(name, path string) corev1.VolumeMount {
	return corev1.VolumeMount{Name: name, MountPath: path}
}

func volume(name, claim string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}
}
