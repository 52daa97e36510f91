package jobs

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	lbl "github.com/cairnbackup/cairn/pkg/labels"
)

func checkFixtures() (*storagev1alpha1.Repository, *storagev1alpha1.BackupStorage) {
	repo := &storagev1alpha1.Repository{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web", UID: "r-1"},
		Spec: storagev1alpha1.RepositorySpec{StorageRef: common.ObjectReference{Namespace: "storage", Name: "s3"}, Path: "apps/web",
			EncryptionSecret: common.ObjectReference{Name: "pw"}}}
	bs := &storagev1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: "storage", Name: "s3"},
		Spec: storagev1alpha1.BackupStorageSpec{Storage: storagev1alpha1.Backend{Provider: storagev1alpha1.ProviderS3,
			S3: &storagev1alpha1.S3Spec{Bucket: "b", SecretName: "creds"}}}}
	return repo, bs
}

func TestCheckJobAndRBAC(t *testing.T) {
	repo, bs := checkFixtures()
	job, err := CheckJob(repo, bs, 1700000000, 0.1, "cairn:test", "cairn-check-web")
	if err != nil {
		t.Fatal(err)
	}
	c := job.Spec.Template.Spec.Containers[0]
	if job.Name != "check-web-1700000000" || job.Namespace != "apps" || job.OwnerReferences[0].Kind != "Repository" ||
		job.OwnerReferences[0].APIVersion != storagev1alpha1.SchemeGroupVersion.String() || *job.Spec.BackoffLimit != 0 ||
		job.Spec.ActiveDeadlineSeconds == nil || job.Spec.TTLSecondsAfterFinished == nil {
		t.Fatalf("job %+v", job.ObjectMeta)
	}
	if got := strings.Join(c.Args, " "); got != "check --namespace=apps --repository=web --read-data-fraction=0.1" || c.Image != "cairn:test" {
		t.Fatalf("container %s %q", c.Image, got)
	}
	if job.Spec.Template.Spec.ServiceAccountName != "cairn-check-web" || !*c.SecurityContext.ReadOnlyRootFilesystem {
		t.Fatalf("pod %+v", job.Spec.Template.Spec)
	}
	if job.Labels[lbl.Component] != ComponentCheck || job.Labels[LabelRepository] != "web" {
		t.Fatalf("labels %v do not name the check and its repository", job.Labels)
	}
	sa, roles, bindings := CheckRBAC(repo, bs)
	if sa.Name != "cairn-check-web" || sa.OwnerReferences[0].Kind != "Repository" || sa.OwnerReferences[0].APIVersion != "storage.cairn.dev/v1alpha1" {
		t.Fatalf("sa %+v", sa.ObjectMeta)
	}
	if len(roles) != 2 || len(bindings) != 2 {
		t.Fatalf("%d roles, %d bindings; want one per namespace", len(roles), len(bindings))
	}
	var rules []string
	for _, r := range roles {
		if r.Labels[RBACLabel] != RBACLabelValue("apps", CheckRBACOwner("web")) {
			t.Fatalf("role %s label %q", r.Name, r.Labels[RBACLabel])
		}
		for _, rule := range r.Rules {
			rules = append(rules, r.Namespace+":"+rule.Resources[0]+"="+strings.Join(rule.ResourceNames, ",")+":"+strings.Join(rule.Verbs, ","))
		}
	}
	want := "apps:repositories=web:get apps:secrets=pw:get storage:backupstorages=s3:get storage:secrets=creds:get"
	if got := strings.Join(rules, " "); got != want {
		t.Fatalf("rules %s, want %s", got, want)
	}
}

func TestParseCheckReport(t *testing.T) {
	rep := &CheckReport{Snapshots: 2, Packs: 3, PacksRead: 1, ProblemCount: 1, Problems: []CheckProblem{{Object: "data/ab/abc", Message: "missing"}}}
	got, err := ParseCheckReport(rep.Encode())
	if err != nil || got.ProblemCount != 1 || got.Problems[0].Object != "data/ab/abc" {
		t.Fatalf("round trip %+v %v", got, err)
	}
	for in, says := range map[string]string{
		"oops":                 "not JSON",
		`{"snapshots":1}`:      "no problemCount",
		`{"problemCount":"x"}`: "does not decode",
		`{"problemCount":0,"problems":[{"object":"a"}]}`: "counts 0 problems but names 1",
		strings.Repeat(" ", 5000):                        "larger than",
	} {
		if _, err := ParseCheckReport([]byte(in)); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("%.20q: %v, want %q", in, err, says)
		}
	}
}

// FuzzParseCheckReport: a termination message is a pod's to write.
func FuzzParseCheckReport(f *testing.F) {
	f.Add([]byte(`{"snapshots":1,"packs":2,"packsRead":1,"problemCount":1,"problems":[{"object":"data/ab/x","message":"missing"}]}`))
	f.Add([]byte(`{"problemCount":0}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if c, err := ParseCheckReport(data); err == nil && (c.ProblemCount < len(c.Problems) || c.Packs < 0) {
			t.Fatalf("accepted %+v", c)
		}
	})
}
