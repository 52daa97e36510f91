package jobs

import (
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	addonsv1alpha1 "github.com/cairnbackup/cairn/pkg/apis/addons/v1alpha1"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	lbl "github.com/cairnbackup/cairn/pkg/labels"
	"github.com/cairnbackup/cairn/pkg/names"
)

// ComponentRetention is the app.kubernetes.io/component of retention Jobs.
const ComponentRetention = "retention"

// DropAnnotation lists, on a retention Job, the Snapshot objects to delete
// once it succeeded (comma-separated): the plan is fixed when the Job is
// made, so what is deleted is what was forgotten.
const DropAnnotation = "cairn.dev/drop-snapshots"

// RetentionJobName names the retention Job of a session's repository.
func RetentionJobName(session, repository string) string {
	return names.Join(names.MaxLabelLength, "retention", session, repository)
}

// RetentionJob forgets the engine snapshots a retention plan dropped from a
// repository and prunes it, as the session's runner (which may read that
// repository, its storage and Secrets), owned by the session.
func RetentionJob(bs *corev1alpha1.BackupSession, repository string, storage *storagev1alpha1.BackupStorage, forget, drop []string,
	image, serviceAccount string) (*batchv1.Job, error) {
	fn := RunnerFunction("retention",
		"--namespace="+bs.Namespace, "--repository="+repository, "--forget="+strings.Join(forget, ","), "--owner="+bs.Namespace+"/"+bs.Name)
	labels := SessionLabels(bs, repository, "")
	labels[lbl.Component] = ComponentRetention
	job, err := taskJob(taskJobSpec{
		name: RetentionJobName(bs.Name, repository), namespace: bs.Namespace,
		owner:  metav1.NewControllerRef(bs, corev1alpha1.SchemeGroupVersion.WithKind("BackupSession")),
		labels: labels, container: "retention", vars: map[string]string{"CAIRN_IMAGE": image},
		function: fn, task: scratchTask(), addon: &corev1alpha1.AddonInfo{},
		serviceAccount: serviceAccount, storage: storage,
	})
	if err != nil {
		return nil, err
	}
	job.Annotations = map[string]string{DropAnnotation: strings.Join(drop, ",")}
	return job, nil
}

// scratchTask gives a Job the writable /tmp its read-only root lacks.
func scratchTask() *addonsv1alpha1.Task {
	return &addonsv1alpha1.Task{
		VolumeTemplate: []addonsv1alpha1.VolumeTemplate{{Name: "cairn-scratch", Source: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		VolumeMounts:   []corev1.VolumeMount{{Name: "cairn-scratch", MountPath: "/tmp"}},
	}
}

// RunnerFunction is a Function that runs the cairn runner's command with
// args from the operator's own image (${CAIRN_IMAGE}), for the Jobs that are
// the operator's own work rather than an addon's task.
func RunnerFunction(command string, args ...string) *addonsv1alpha1.Function {
	return &addonsv1alpha1.Function{
		ObjectMeta: metav1.ObjectMeta{Name: "cairn-" + command},
		Spec:       addonsv1alpha1.FunctionSpec{Image: "${CAIRN_IMAGE}", Command: []string{"/cairn"}, Args: append([]string{command}, args...)},
	}
}
