//go:build integration

package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/test/cluster"
	"github.com/cairnbackup/cairn/test/objstore"
	"github.com/cairnbackup/cairn/test/scenario"
)

const smokeImage = "cairn.local/smokejob:test"

// TestSmoke runs a Job from a locally built image on the node. The pod reads
// a Secret through its projected service-account token with a Role that
// grants only that Secret (and checks a second one is denied), writes the
// value to a dynamically provisioned PVC, and uploads it to MinIO on the
// bridge address. The test then reads the object back from MinIO and the
// file from the volume's directory on the host, and compares both with the
// Secret.
func TestSmoke(t *testing.T) {
	c := cluster.Shared(t)
	ns := c.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	k := c.Client()

	buildSmokeImage(ctx, t, c)
	minio, err := objstore.StartMinIO(ctx, cluster.BridgeIP()+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = minio.Stop() })
	const bucket = "smoke"
	if err := minio.CreateBucket(ctx, bucket); err != nil {
		t.Fatal(err)
	}

	secretValue := randomHex(t, 16)
	secrets := []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "smoke-secret"}, StringData: map[string]string{"value": secretValue}},
		{ObjectMeta: metav1.ObjectMeta{Name: "not-granted"}, StringData: map[string]string{"value": "x"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "s3-credentials"}, StringData: map[string]string{
			"AWS_ACCESS_KEY_ID": minio.AccessKey, "AWS_SECRET_ACCESS_KEY": minio.SecretKey}},
	}
	for _, s := range secrets {
		if _, err := k.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	grantSecretReader(ctx, t, c, ns, "smoke", "smoke-secret")
	const pvc = "smoke-data"
	if err := scenario.NewClaim(ctx, c, ns, pvc, "16Mi"); err != nil {
		t.Fatal(err)
	}

	job := smokeJob(ns, pvc, minio, bucket)
	if _, err := k.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitJob(ctx, ns, job.Name, 3*time.Minute); err != nil {
		t.Fatal(err)
	}

	b, err := minio.OpenBucket(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got, err := b.ReadAll(ctx, "smoke/"+ns)
	if err != nil {
		t.Fatalf("the job's object is not in MinIO: %v", err)
	}
	if string(got) != secretValue {
		t.Fatalf("MinIO object holds %q, want the Secret's value %q", got, secretValue)
	}
	claim, err := k.CoreV1().PersistentVolumeClaims(ns).Get(ctx, pvc, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if claim.Status.Phase != corev1.ClaimBound || claim.Spec.VolumeName == "" {
		t.Fatalf("PVC %s is %s (volume %q), want Bound to a provisioned volume", pvc, claim.Status.Phase, claim.Spec.VolumeName)
	}
	pv, err := k.CoreV1().PersistentVolumes().Get(ctx, claim.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pv.Spec.HostPath == nil {
		t.Fatalf("volume %s is not a hostPath volume of the local-path provisioner: %+v", pv.Name, pv.Spec.PersistentVolumeSource)
	}
	onHost, err := os.ReadFile(filepath.Join(pv.Spec.HostPath.Path, "smoke.txt"))
	if err != nil {
		t.Fatalf("the file the job wrote is not in the provisioned volume on the host: %v", err)
	}
	if string(onHost) != secretValue {
		t.Fatalf("volume file holds %q, want the Secret's value", onHost)
	}
}

// buildSmokeImage compiles test/integration/smokejob and imports it into
// the node as smokeImage.
func buildSmokeImage(ctx context.Context, t *testing.T, c *cluster.Cluster) {
	t.Helper()
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "smokejob")
	if err := cluster.GoBuild(ctx, root, "./test/integration/smokejob", bin); err != nil {
		t.Fatal(err)
	}
	if err := c.BuildAndImport(ctx, cluster.Image{Tag: smokeImage, Files: map[string]string{bin: "/smokejob"}, Entrypoint: []string{"/smokejob"}}); err != nil {
		t.Fatal(err)
	}
}

// grantSecretReader creates service account sa with a Role that may get only
// the Secret named secret.
func grantSecretReader(ctx context.Context, t *testing.T, c *cluster.Cluster, ns, sa, secret string) {
	t.Helper()
	k := c.Client()
	if _, err := k.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: sa + "-secret-reader"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}, ResourceNames: []string{secret}}},
	}
	if _, err := k.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: ns}},
	}
	if _, err := k.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// smokeJob is the Job running the smoke image with the PVC, the Secret
// names and the MinIO target.
func smokeJob(ns, pvc string, minio *objstore.Server, bucket string) *batchv1.Job {
	zero, deadline := int32(0), int64(150)
	credRef := func(key string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "s3-credentials"}, Key: key}}
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "smoke"},
		Spec: batchv1.JobSpec{
			BackoffLimit:          &zero,
			ActiveDeadlineSeconds: &deadline,
			Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{
					ServiceAccountName: "smoke",
					RestartPolicy:      corev1.RestartPolicyNever,
					Containers: []corev1.Container{{
						Name:            "smoke",
						Image:           smokeImage,
						ImagePullPolicy: corev1.PullNever,
						Env: []corev1.EnvVar{
							{Name: "SMOKE_SECRET", Value: "smoke-secret"},
							{Name: "SMOKE_KEY", Value: "value"},
							{Name: "SMOKE_FORBIDDEN_SECRET", Value: "not-granted"},
							{Name: "SMOKE_DATA_DIR", Value: "/data"},
							{Name: "SMOKE_S3_ENDPOINT", Value: minio.Endpoint},
							{Name: "SMOKE_S3_REGION", Value: minio.Region},
							{Name: "SMOKE_S3_BUCKET", Value: bucket},
							{Name: "SMOKE_S3_KEY", Value: "smoke/" + ns},
							{Name: "AWS_ACCESS_KEY_ID", ValueFrom: credRef("AWS_ACCESS_KEY_ID")},
							{Name: "AWS_SECRET_ACCESS_KEY", ValueFrom: credRef("AWS_SECRET_ACCESS_KEY")},
						},
						VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
					}},
					Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
						PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: pvc}}}},
				},
			},
		},
	}
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
