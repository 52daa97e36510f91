package scenario

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/test/cluster"
	"github.com/cairnbackup/cairn/test/objstore"
)

// seedScript fills a volume with a tree that exercises the engine: text,
// random data, an exact duplicate (deduplicated), an empty directory and a
// symlink.
const seedScript = `set -e
mkdir -p /data/app/logs /data/app/empty
seq 1 50000 > /data/app/logs/numbers.txt
head -c 6000000 /dev/urandom > /data/app/blob.bin
cp /data/app/blob.bin /data/app/blob-copy.bin
ln -s logs/numbers.txt /data/app/current
chmod -R a+rX /data`

// compareScript fails unless the restored tree equals the source.
const compareScript = `set -e
diff -r /data /restored/data
[ "$(readlink /restored/data/app/current)" = logs/numbers.txt ]
echo restored tree identical`

// EngineRoundTrip is Cairn's data path on a real node: a seed Job fills a
// PVC; a non-root backup Job initialises an encrypted repository in the
// S3 bucket and backs the PVC up over the pod network; a restore Job
// restores the latest snapshot into a fresh PVC, and a last container
// compares both trees byte for byte. minio must listen on an address pods
// reach (the bridge). logf narrates each step.
func EngineRoundTrip(ctx context.Context, c *cluster.Cluster, ns string, minio *objstore.Server, bucket, scratch string, logf func(string, ...any)) error {
	logf("building the cairn image (static binary, no shell) and importing it into the node")
	if err := BuildCairnImage(ctx, c, scratch); err != nil {
		return err
	}
	password := make([]byte, 16)
	if _, err := rand.Read(password); err != nil {
		return err
	}
	q := url.Values{"endpoint": {minio.Endpoint}, "region": {minio.Region}, "use_path_style": {"true"}}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "repo-access"},
		StringData: map[string]string{
			"AWS_ACCESS_KEY_ID":     minio.AccessKey,
			"AWS_SECRET_ACCESS_KEY": minio.SecretKey,
			"CAIRN_PASSWORD":        hex.EncodeToString(password),
			"CAIRN_REPOSITORY":      "s3://" + bucket + "/" + ns + "?" + q.Encode(),
		},
	}
	if _, err := c.Client().CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create Secret: %w", err)
	}
	for _, claim := range []string{"source", "restored"} {
		if err := NewClaim(ctx, c, ns, claim, "64Mi"); err != nil {
			return err
		}
	}

	logf("Job seed: writing an application tree into PVC source")
	if err := RunJob(ctx, c, ns, "seed", PodSpec(nil,
		[]corev1.Container{Shell("seed", seedScript, Mount("data", "/data"))},
		ClaimVolume("data", "source"))); err != nil {
		return err
	}

	logf("Job backup: cairn (uid %d, read-only root, no capabilities) initialises the repository in s3://%s and backs up PVC source", NonRootUser, bucket)
	if err := RunJob(ctx, c, ns, "backup", PodSpec(
		[]corev1.Container{CairnContainer("init", secret.Name, []string{"repo", "init"})},
		[]corev1.Container{CairnContainer("backup", secret.Name, []string{"repo", "backup", "--host", "cairn-test", "/data"}, Mount("data", "/data"))},
		ClaimVolume("data", "source"))); err != nil {
		return err
	}

	logf("Job restore: cairn restores the latest snapshot into PVC restored; busybox diffs both trees")
	return RunJob(ctx, c, ns, "restore", PodSpec(
		[]corev1.Container{CairnContainer("restore", secret.Name, []string{"repo", "restore", "--target", "/restored", "latest"}, Mount("restored", "/restored"))},
		[]corev1.Container{Shell("compare", compareScript, Mount("data", "/data"), Mount("restored", "/restored"))},
		ClaimVolume("data", "source"), ClaimVolume("restored", "restored")))
}
