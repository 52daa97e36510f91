package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	lbl "github.com/cairnbackup/cairn/pkg/labels"
	"github.com/cairnbackup/cairn/pkg/names"
)

// ComponentCheck is the app.kubernetes.io/component of integrity check Jobs.
const ComponentCheck = "check"

// CheckJobName names the integrity check of a Repository due at the unix
// second due: one Job per check round, so a restarted operator finds the
// round's Job instead of starting another.
func CheckJobName(repository string, due int64) string {
	return names.Join(names.MaxLabelLength, "check", repository, strconv.FormatInt(due, 10))
}

// CheckRBACOwner is the name a Repository's check RBAC is labelled with
// (RBACLabelValue(namespace, CheckRBACOwner(name))): not the Repository's
// own name, which a session of the same namespace may carry.
func CheckRBACOwner(repository string) string { return "check." + repository }

// checkDeadline bounds a check Job: reading a share of a large repository
// takes a while, a hung store must not hold maintenance up for ever.
const checkDeadline = int64(6 * 60 * 60)

// CheckJob runs `cairn check` on repo, reading readFraction of its packs,
// as serviceAccount (see CheckRBAC), owned by the Repository and labelled
// as its maintenance. A local storage's volume is mounted as the backup
// Jobs mount it.
func CheckJob(repo *storagev1alpha1.Repository, storage *storagev1alpha1.BackupStorage, due int64, readFraction float64, image, serviceAccount string) (*batchv1.Job, error) {
	fn := RunnerFunction("check", "--namespace="+repo.Namespace, "--repository="+repo.Name,
		"--read-data-fraction="+strconv.FormatFloat(readFraction, 'f', -1, 64))
	l := map[string]string{lbl.ManagedBy: lbl.ManagedByValue, lbl.Component: ComponentCheck, LabelRepository: repo.Name}
	deadline := checkDeadline
	job, err := taskJob(taskJobSpec{
		name: CheckJobName(repo.Name, due), namespace: repo.Namespace,
		owner:  metav1.NewControllerRef(repo, storagev1alpha1.SchemeGroupVersion.WithKind("Repository")),
		labels: l, container: "check", vars: map[string]string{"CAIRN_IMAGE": image},
		function: fn, task: scratchTask(), addon: &corev1alpha1.AddonInfo{},
		serviceAccount: serviceAccount, storage: storage, deadline: &deadline,
	})
	if err != nil {
		return nil, err
	}
	// Kept a day for `kubectl logs`; the verdict is in the Repository's status.
	ttl := int32(24 * 60 * 60)
	job.Spec.TTLSecondsAfterFinished = &ttl
	return job, nil
}

// CheckRBAC is the identity of repo's check Job: it may read the
// Repository, its BackupStorage and the two Secrets they name, nothing
// else. Objects in the Repository's namespace are owned by it; those in
// the storage's namespace are removed by the operator after the check.
func CheckRBAC(repo *storagev1alpha1.Repository, storage *storagev1alpha1.BackupStorage) (*corev1.ServiceAccount, []*rbacv1.Role, []*rbacv1.RoleBinding) {
	a := Access{}
	a.Repository(repo.Namespace, repo.Name)
	a.Storage(storage.Namespace, storage.Name)
	a.Secret(storage.Namespace, blob.SecretName(&storage.Spec.Storage))
	enc := repo.Spec.EncryptionSecret.WithNamespace(repo.Namespace)
	a.Secret(enc.Namespace, enc.Name)
	sa, roles, bindings := RunnerRBAC(repo, "Repository", "check", a)
	ref := *metav1.NewControllerRef(repo, storagev1alpha1.SchemeGroupVersion.WithKind("Repository"))
	label := RBACLabelValue(repo.Namespace, CheckRBACOwner(repo.Name))
	fix := func(m *metav1.ObjectMeta) {
		m.Labels[RBACLabel] = label
		if len(m.OwnerReferences) > 0 {
			m.OwnerReferences = []metav1.OwnerReference{ref} // a Repository is storage.cairn.dev's
		}
	}
	fix(&sa.ObjectMeta)
	for _, r := range roles {
		fix(&r.ObjectMeta)
	}
	for _, b := range bindings {
		fix(&b.ObjectMeta)
	}
	return sa, roles, bindings
}

// CheckProblem is one defect a check found, naming the object at fault.
type CheckProblem struct {
	Object  string `json:"object"`
	Message string `json:"message"`
}

// CheckReport is what an integrity check Job found, as it reports it to
// the operator (JSON in its pod's termination message).
type CheckReport struct {
	Snapshots int `json:"snapshots"`
	Packs     int `json:"packs"`
	PacksRead int `json:"packsRead"`
	// ProblemCount is how many defects were found: the repository is
	// healthy when it is 0.
	ProblemCount int `json:"problemCount"`
	// Problems are the first few (a termination message holds 4 KiB).
	Problems []CheckProblem `json:"problems,omitempty"`
}

// Encode is the report as the termination message carries it.
func (c *CheckReport) Encode() []byte {
	out, err := json.Marshal(c)
	if err != nil {
		panic(err) // plain fields
	}
	return out
}

// maxTerminationMessage is what a pod's termination message holds.
const maxTerminationMessage = 4096

// ParseCheckReport reads a report from a termination message. The message
// comes from a pod, so a report must state its problem count to count.
func ParseCheckReport(data []byte) (*CheckReport, error) {
	if len(data) > maxTerminationMessage {
		return nil, fmt.Errorf("check report of %d bytes is larger than a termination message", len(data))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("check report is not JSON: %w", err)
	}
	if _, ok := raw["problemCount"]; !ok {
		return nil, errors.New("check report has no problemCount")
	}
	var c CheckReport
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("check report does not decode: %w", err)
	}
	if c.ProblemCount < len(c.Problems) || c.Snapshots < 0 || c.Packs < 0 || c.PacksRead < 0 {
		return nil, fmt.Errorf("check report counts %d problems but names %d, or has negative counts", c.ProblemCount, len(c.Problems))
	}
	return &c, nil
}
