package backupsession

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/jobs"
)

// A BackupStorage reached through a cloud identity (no Secret) puts its
// serviceAccountAnnotations on the runner's ServiceAccount, so IRSA or
// workload identity gives the session's Jobs access to the bucket.
func TestRunnerAccountCarriesTheStoragesIdentity(t *testing.T) {
	k, c := setup()
	for _, o := range c {
		if s, ok := o.(*storagev1alpha1.BackupStorage); ok {
			s.Spec.RuntimeSettings = &common.PodRuntimeSettings{ServiceAccountAnnotations: map[string]string{
				"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/cairn-backup"}}
		}
	}
	f := newFixture(t, k, c)
	f.sync("web-daily-1")
	sa, err := f.Kube.CoreV1().ServiceAccounts("app").Get(f.Ctx, jobs.RunnerServiceAccount("backup", "web-daily-1"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sa.Annotations["eks.amazonaws.com/role-arn"] != "arn:aws:iam::123456789012:role/cairn-backup" {
		t.Fatalf("runner ServiceAccount annotations %v; want the storage's role", sa.Annotations)
	}
}
